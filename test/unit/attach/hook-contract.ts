// Invariant: the hook and the plugin speak the same contract version (path, deadline header, the
// "unavailable" status), and the plugin accepts only a whole, bounded deadline.
import t from 'tap'
import * as hook from '../../../hook/attach-with-retry.js'
import {
  ATTACH_PATH,
  HTTP,
  MAX_BODY_BYTES,
  MAX_TIMEOUT_MS,
  TIMEOUT_HEADER,
  parseTimeoutHeader,
} from '../../../src/attach/hook-contract.js'
import { MAX_STATE_BYTES } from '../../../hook/read-stdin.js'
import { MAX_TIMEOUT_MS as HOOK_MAX_TIMEOUT_MS } from '../../../hook/parse-hook-args.js'

t.test('both sides agree', async t => {
  t.equal(hook.ATTACH_PATH, ATTACH_PATH)
  t.equal(hook.TIMEOUT_HEADER, TIMEOUT_HEADER)
  t.equal(hook.STATUS_UNAVAILABLE, HTTP.unavailable)
  t.equal(HOOK_MAX_TIMEOUT_MS, MAX_TIMEOUT_MS, 'every --timeout-ms fits the header')
  t.ok(MAX_STATE_BYTES + 4096 < MAX_BODY_BYTES, 'a capped state always fits in a body')
})

t.test('deadline header', async t => {
  const cases: { value: string | string[] | undefined; ms?: number; err?: RegExp }[] = [
    { value: '1', ms: 1 },
    { value: '8000', ms: 8000 },
    { value: String(MAX_TIMEOUT_MS), ms: MAX_TIMEOUT_MS },
    { value: undefined, err: /whole number/ },
    { value: '', err: /whole number/ },
    { value: '1.5', err: /whole number/ },
    { value: '-3', err: /whole number/ },
    { value: '123456789', err: /whole number/ },
    { value: ['1', '2'], err: /whole number/ },
    { value: '0', err: /between 1 and/ },
  ]
  for (const c of cases) {
    if (c.ms !== undefined) t.equal(parseTimeoutHeader(c.value), c.ms, String(c.value))
    else t.throws(() => parseTimeoutHeader(c.value), { code: 'NDRA_HOOK_PROTOCOL', message: c.err })
  }
})
