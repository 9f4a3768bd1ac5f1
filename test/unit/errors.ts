// Invariant: every error class carries a stable code and a name, and the narrowing helpers never throw.
import t from 'tap'
import {
  CniPluginError,
  DriverError,
  InvalidConfigError,
  errorCode,
  errorMessage,
} from '../../src/errors.js'

const cases = [
  {
    name: 'DriverError',
    err: new DriverError('NDRA_INTERNAL', 'boom'),
    code: 'NDRA_INTERNAL',
    msg: 'boom',
  },
  {
    name: 'CniPluginError',
    err: new CniPluginError({
      cniCode: 7,
      msg: 'bad',
      details: 'x',
      pluginType: 'macvlan',
      networkName: 'n',
      op: 'add',
    }),
    code: 'NDRA_CNI_PLUGIN',
    msg: 'plugin type="macvlan" name="n" failed (add): bad; x',
  },
  {
    name: 'InvalidConfigError',
    err: new InvalidConfigError(['a', 'b']),
    code: 'NDRA_INVALID_CONFIG',
    msg: 'invalid configuration:\n  - a\n  - b',
  },
] as const

for (const c of cases) {
  t.test(c.name, async t => {
    t.equal(c.err.code, c.code)
    t.equal(c.err.name, c.name)
    t.equal(c.err.message, c.msg)
    t.ok(c.err instanceof DriverError)
    t.equal(errorCode(c.err), c.code)
    t.equal(errorMessage(c.err), c.msg)
  })
}

t.test('narrowing non-errors', async t => {
  t.equal(errorCode('x'), 'NDRA_INTERNAL')
  t.equal(errorMessage(42), '42')
})
