// Fakes for the host-link inventory: a command runner that returns canned `ip -j -d addr show`
// output (and records calls), and a sysfs made of a path → value map.
import type { CommandRunner, SysfsReader } from '../../src/inventory/host-links.js'

export class FakeRunner implements CommandRunner {
  readonly calls: string[] = []
  constructor(public output: string | Error) {}
  run(file: string, args: readonly string[]): Promise<string> {
    this.calls.push([file, ...args].join(' '))
    return this.output instanceof Error ? Promise.reject(this.output) : Promise.resolve(this.output)
  }
}

export class FakeSysfs implements SysfsReader {
  constructor(
    readonly links: Record<string, string> = {},
    readonly files: Record<string, string> = {},
  ) {}
  readlink(path: string): Promise<string> {
    const v = this.links[path]
    return v === undefined ? Promise.reject(new Error(`ENOENT ${path}`)) : Promise.resolve(v)
  }
  readFile(path: string): Promise<string> {
    const v = this.files[path]
    return v === undefined ? Promise.reject(new Error(`ENOENT ${path}`)) : Promise.resolve(v)
  }
}
