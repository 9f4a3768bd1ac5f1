/**
 * Runs a helper command (`ip -j …`) for the host-link inventory and returns its stdout; a failure
 * carries the command's stderr. Thin on purpose: the seam exists so the inventory is unit-testable.
 */
import { execa } from 'execa'
import type { CommandRunner } from '../inventory/host-links.js'

export const execaRunner: CommandRunner = {
  async run(file, args) {
    const r = await execa(file, [...args], { timeout: 10_000, stripFinalNewline: false })
    return r.stdout
  },
}
