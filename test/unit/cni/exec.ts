// Invariant: ProcessExec runs a plugin with exactly the given env and stdin, returns stdout on exit
// 0, turns non-zero exits into libcni-style PluginFailures, SIGKILLs the plugin's whole process
// group when the deadline passes or the signal aborts (NDRA_CNI_TIMEOUT), and findInPath takes the
// first regular file in the bin dirs.
import t from 'tap'
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ProcessExec, findPluginInPath } from '../../../src/cni/exec.js'
import { PluginFailure } from '../../../src/cni/plugin-failure.js'

async function script(dir: string, name: string, body: string): Promise<string> {
  const p = join(dir, name)
  await writeFile(p, `#!/bin/sh\n${body}\n`)
  await chmod(p, 0o755)
  return p
}

t.test('success returns stdout; env and stdin are exactly what was given', async tt => {
  const dir = tt.testdir()
  const p = await script(
    dir,
    'echo',
    'cat > "$OUT.stdin"; env > "$OUT.env"; printf ok; echo warn >&2',
  )
  const seen: string[] = []
  const exec = new ProcessExec({ onStderr: (path, text) => seen.push(`${path}:${text}`) })
  const out = await exec.execPlugin(
    p,
    Buffer.from('{"a":1}'),
    { OUT: join(dir, 'o'), CNI_COMMAND: 'ADD' },
    {
      timeoutMs: 5000,
    },
  )
  tt.equal(Buffer.from(out).toString(), 'ok')
  tt.equal(await readFile(join(dir, 'o.stdin'), 'utf8'), '{"a":1}')
  const env = (await readFile(join(dir, 'o.env'), 'utf8')).split('\n')
  tt.ok(env.includes('CNI_COMMAND=ADD'))
  tt.notOk(
    env.some(l => l.startsWith('HOME=')),
    'parent env not inherited implicitly',
  )
  tt.same(seen, [`${p}:warn\n`])
})

t.test('failures follow libcni stdout/stderr rules', async tt => {
  const dir = tt.testdir()
  const exec = new ProcessExec()
  const cases = [
    {
      body: `printf '{"code":7,"msg":"bad conf","details":"x"}'; exit 1`,
      code: 7,
      msg: 'bad conf; x',
    },
    { body: 'echo oops >&2; exit 2', code: 999, msg: 'netplugin failed: "oops\\n"' },
    { body: 'exit 3', code: 999, msg: 'netplugin failed with no error message: exit status 3' },
    {
      body: 'printf notjson; exit 1',
      code: 999,
      msg: /error parsing its diagnostic message "notjson"/,
    },
    { body: 'kill -9 $$', code: 999, msg: /signal: SIGKILL/ },
  ]
  for (const [i, c] of cases.entries()) {
    const p = await script(dir, `f${i}`, c.body)
    const err = await exec
      .execPlugin(p, new Uint8Array(), {}, { timeoutMs: 5000 })
      .catch((e: unknown) => e)
    tt.ok(err instanceof PluginFailure, c.body)
    tt.equal((err as PluginFailure).cniCode, c.code)
    tt.match((err as Error).message, c.msg)
  }
  const missing = await exec
    .execPlugin(join(dir, 'nope'), new Uint8Array(), {}, { timeoutMs: 5000 })
    .catch((e: unknown) => e)
  tt.match((missing as Error).message, /fork\/exec .*nope/)
})

t.test('deadline kills the plugin and its process group', async tt => {
  const dir = tt.testdir()
  const pidFile = join(dir, 'child.pid')
  // the "plugin" starts a delegated child (like an IPAM plugin) and both sleep
  const p = await script(dir, 'slow', `sleep 30 & echo $! > ${pidFile}; sleep 30`)
  const exec = new ProcessExec()
  const t0 = Date.now()
  const err = await exec
    .execPlugin(p, new Uint8Array(), {}, { timeoutMs: 300 })
    .catch((e: unknown) => e)
  const took = Date.now() - t0
  tt.match(err, { code: 'NDRA_CNI_TIMEOUT', message: /did not finish within 300 ms/ })
  tt.ok(took < 3000, `returned after ${took} ms`)
  const childPid = Number((await readFile(pidFile, 'utf8')).trim())
  await new Promise(r => setTimeout(r, 100))
  // gone, or a zombie waiting for its new parent to reap it: either way no longer running
  const state = await readFile(`/proc/${childPid}/stat`, 'utf8').then(
    s => s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3),
    () => 'gone',
  )
  tt.ok(state === 'gone' || state === 'Z', `delegated child was killed too (state ${state})`)
})

t.test('abort signal kills the plugin', async tt => {
  const dir = tt.testdir()
  const p = await script(dir, 'slow', 'sleep 30')
  const ac = new AbortController()
  setTimeout(() => {
    ac.abort(new Error('shutdown'))
  }, 100)
  const err = await new ProcessExec()
    .execPlugin(p, new Uint8Array(), {}, { timeoutMs: 10_000, signal: ac.signal })
    .catch((e: unknown) => e)
  tt.match(err, { code: 'NDRA_CNI_TIMEOUT', message: /cancelled/ })
  const pre = AbortSignal.abort()
  await tt.rejects(
    new ProcessExec().execPlugin(p, new Uint8Array(), {}, { timeoutMs: 10_000, signal: pre }),
    {
      code: 'NDRA_CNI_TIMEOUT',
    },
  )
})

t.test(
  'wrapper prefix runs the plugin through another command; text-file-busy is retried',
  async tt => {
    const dir = tt.testdir()
    const p = await script(dir, 'plug', 'printf "$0"')
    const counter = join(dir, 'n')
    const wrap = await script(
      dir,
      'wrap',
      `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}
if [ $n -lt 3 ]; then echo "wrap: failed to execute $1: Text file busy" >&2; exit 126; fi
exec "$@"`,
    )
    const exec = new ProcessExec({ wrapper: [wrap], textBusyRetryDelayMs: 10 })
    const out = await exec.execPlugin(p, new Uint8Array(), {}, { timeoutMs: 5000 })
    tt.equal(Buffer.from(out).toString(), p)
    tt.equal((await readFile(counter, 'utf8')).trim(), '3', 'two busy attempts retried')
    const once = new ProcessExec({ wrapper: [wrap], textBusyAttempts: 1 })
    await writeFile(counter, '0')
    await tt.rejects(
      once.execPlugin(p, new Uint8Array(), {}, { timeoutMs: 5000 }),
      /Text file busy/,
    )
  },
)

t.test('findPluginInPath', async tt => {
  const dir = tt.testdir()
  await mkdir(join(dir, 'a', 'bridge'), { recursive: true })
  await mkdir(join(dir, 'b'))
  await script(join(dir, 'b'), 'bridge', 'true')
  await mkdir(join(dir, 'c'))
  await script(join(dir, 'c'), 'bridge', 'true')
  const dirs = [join(dir, 'missing'), join(dir, 'a'), join(dir, 'b'), join(dir, 'c')]
  tt.equal(await findPluginInPath('bridge', dirs), join(dir, 'b', 'bridge'), 'first regular file')
  await tt.rejects(findPluginInPath('x', dirs), {
    code: 'NDRA_CNI_PLUGIN_NOT_FOUND',
    message: `failed to find plugin "x" in path [${dirs.join(' ')}]`,
  })
  await tt.rejects(findPluginInPath('../b/bridge', dirs), /invalid plugin name/)
  await tt.rejects(findPluginInPath('', dirs), /required/)
  await tt.rejects(findPluginInPath('bridge', []), /no paths/)
  tt.equal(await new ProcessExec().findInPath('bridge', dirs), join(dir, 'b', 'bridge'))
})
