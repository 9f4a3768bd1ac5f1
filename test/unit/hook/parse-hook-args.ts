// Invariant: the hook accepts exactly the argv the CDI spec writer produces (both `--f v` and
// `--f=v`) and refuses anything else with a message naming the offending argument.
import t from 'tap'
import { HookUsageError, MAX_TIMEOUT_MS, parseHookArgs } from '../../../hook/parse-hook-args.js'

const good = [
  'attach',
  '--claim',
  'uid-1',
  '--request',
  'net1',
  '--device',
  'attachment-0',
  '--socket',
  '/run/network-dra/hook.sock',
  '--timeout-ms',
  '8000',
]
const want = {
  kind: 'attach',
  claimUid: 'uid-1',
  request: 'net1',
  device: 'attachment-0',
  socketPath: '/run/network-dra/hook.sock',
  timeoutMs: 8000,
}

const ok = [
  { name: 'CDI spec argv', args: good, want },
  {
    name: 'equals form',
    args: [
      'attach',
      '--claim=uid-1',
      '--request=net1',
      '--device=attachment-0',
      '--socket=/run/network-dra/hook.sock',
      '--timeout-ms=8000',
    ],
    want,
  },
  {
    name: 'any order',
    args: [
      'attach',
      '--timeout-ms',
      '8000',
      '--socket',
      '/run/network-dra/hook.sock',
      '--device',
      'attachment-0',
      '--request',
      'net1',
      '--claim',
      'uid-1',
    ],
    want,
  },
  { name: 'version flag', args: ['--version'], want: { kind: 'version' } },
  { name: 'version command', args: ['version'], want: { kind: 'version' } },
  {
    name: 'max timeout',
    args: [...good.slice(0, -1), String(MAX_TIMEOUT_MS)],
    want: { ...want, timeoutMs: MAX_TIMEOUT_MS },
  },
]
for (const c of ok) {
  t.test(c.name, async t => {
    t.same(parseHookArgs(c.args), c.want)
  })
}

const bad = [
  { name: 'no args', args: [], msg: /missing command/ },
  { name: 'unknown command', args: ['detach'], msg: /unknown command "detach"/ },
  {
    name: 'missing flags',
    args: ['attach', '--claim', 'u'],
    msg: /missing --request, --device, --socket, --timeout-ms/,
  },
  { name: 'unknown flag', args: [...good, '--verbose', 'x'], msg: /unknown flag --verbose/ },
  { name: 'positional', args: [...good, 'extra'], msg: /unexpected argument "extra"/ },
  { name: 'flag without value', args: [...good.slice(0, -1)], msg: /--timeout-ms needs a value/ },
  { name: 'duplicate', args: [...good, '--claim', 'other'], msg: /--claim given twice/ },
  { name: 'empty value', args: ['attach', '--claim='], msg: /--claim must not be empty/ },
  { name: 'non-numeric timeout', args: [...good.slice(0, -1), '8s'], msg: /whole number/ },
  { name: 'zero timeout', args: [...good.slice(0, -1), '0'], msg: /between 1 and/ },
  {
    name: 'huge timeout',
    args: [...good.slice(0, -1), String(MAX_TIMEOUT_MS + 1)],
    msg: /between 1 and/,
  },
  {
    name: 'relative socket',
    args: good.map(a => (a === '/run/network-dra/hook.sock' ? 'hook.sock' : a)),
    msg: /absolute path/,
  },
  { name: 'version with extra', args: ['--version', 'x'], msg: /unknown command "--version"/ },
]
for (const c of bad) {
  t.test(`refuses ${c.name}`, async t => {
    t.throws(() => parseHookArgs(c.args), { name: 'HookUsageError', message: c.msg })
    t.throws(() => parseHookArgs(c.args), HookUsageError)
  })
}
