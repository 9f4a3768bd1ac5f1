// Invariant: the cluster harness (scripts/cluster/lib.sh) treats a recorded PID as its own only
// while /proc/<pid>/exe is exactly the executable it started: a process it started is alive and is
// stopped; a reused PID now running another binary — even one whose name contains the
// component's name, like a copied "containerd-imposter" — is neither alive nor killed.
import t from 'tap'
import { execFile, spawn } from 'node:child_process'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const lib = fileURLToPath(new URL('../../../scripts/cluster/lib.sh', import.meta.url))

/** Runs `body` in bash with lib.sh sourced and the harness's paths under `dir`. */
async function harness(dir: string, body: string): Promise<string> {
  const script = `set -euo pipefail
source ${JSON.stringify(lib)}
PIDS=${JSON.stringify(join(dir, 'pids'))} LOGS=${JSON.stringify(join(dir, 'logs'))}
${body}`
  const { stdout } = await run('bash', ['-c', script], { encoding: 'utf8' })
  return stdout.trim()
}

/** Running (not exited, not a zombie nobody reaps: PID 1 here may not be an init). */
const alive = async (pid: number): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '')
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
}

t.test('a process the harness started is alive and stopped by PID', async t => {
  const dir = t.testdir()
  const pid = Number(await harness(dir, 'ndra_start comp sleep 60; cat "$PIDS/comp.pid"'))
  t.teardown(async () => ((await alive(pid)) ? process.kill(pid, 'SIGKILL') : undefined))
  t.equal(
    (await readFile(join(dir, 'pids', 'comp.exe'), 'utf8')).trim(),
    (await run('readlink', ['-f', '/bin/sleep'])).stdout.trim(),
    'records the resolved executable',
  )
  t.equal(await harness(dir, 'ndra_alive comp && echo yes || echo no'), 'yes')
  await harness(dir, 'ndra_stop comp 2')
  t.notOk(await alive(pid), 'stopped')
  t.equal(await harness(dir, 'ndra_alive comp && echo yes || echo no'), 'no', 'records removed')
})

t.test('a reused PID running another binary is neither ours nor killed', async t => {
  const dir = t.testdir()
  await mkdir(join(dir, 'bin'))
  const imposter = join(dir, 'bin', 'containerd-imposter')
  await copyFile('/bin/sleep', imposter)
  await run('chmod', ['755', imposter])
  const child = spawn(imposter, ['60'], { stdio: 'ignore', detached: true })
  const pid = child.pid ?? 0
  t.teardown(async () => ((await alive(pid)) ? process.kill(pid, 'SIGKILL') : undefined))
  await mkdir(join(dir, 'pids'))
  // What a reused PID looks like: the record names containerd, the PID now runs something else.
  await writeFile(join(dir, 'pids', 'containerd.pid'), `${pid}\n`)
  await writeFile(join(dir, 'pids', 'containerd.exe'), '/usr/bin/containerd\n')
  t.equal(await harness(dir, 'ndra_alive containerd && echo yes || echo no'), 'no')
  await harness(dir, 'ndra_stop containerd 1 2>/dev/null')
  t.ok(await alive(pid), 'left alone')
})
