// Invariants: the ledger's transitions are the only ways a claim record changes, each is durable
// in the unchanged `network-dra.state/v1` file (read back by a second instance), one attachment
// record exists per (request, device), an attachment needs a recorded claim and plan, `detached`
// removes exactly the named sandbox's record, a transition never loses another instance's write,
// and what another instance wrote is seen only after `refresh()`.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { lock } from 'proper-lockfile'
import {
  ClaimLedger,
  type AttachmentTarget,
  type PreparedClaim,
} from '../../../src/state/claim-ledger.js'
import { STATE_FILE_NAME, STATE_LOCK_NAME } from '../../../src/state/store.js'
import type { ClaimRecord } from '../../../src/state/state-types.js'

const T0 = '2026-01-01T00:00:00.000Z'
const T1 = '2026-01-01T00:00:01.000Z'

function claim(uid: string, devices = ['attachment-0']): PreparedClaim {
  return {
    uid,
    namespace: 'ns',
    name: `claim-${uid}`,
    plans: devices.map((device, i) => ({
      request: 'net',
      pool: 'node-a',
      device,
      networkConfig: { cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }] },
      ifName: `net${i + 1}`,
      capabilityArgs: {},
      cniArgs: [['K', 'V']] as [string, string][],
    })),
    cdiDeviceIds: devices.map(d => `network-dra.dev/net=${uid}-${d}`),
  }
}

function target(sandboxId: string, device = 'attachment-0'): AttachmentTarget {
  return {
    sandboxId,
    podUid: `pod-${sandboxId}`,
    podName: 'p',
    podNamespace: 'ns',
    request: 'net',
    device,
    ifName: 'net1',
    netns: `/run/netns/${sandboxId}`,
    netnsId: `4:${sandboxId}`,
    networkName: 'n',
  }
}

const result = { cniVersion: '1.0.0', interfaces: [{ name: 'net1' }] }

/** A ledger on `dir` whose clock reads T0 then T1, T1, …. */
async function open(dir: string, clock = [T0, T1]): Promise<ClaimLedger> {
  const times = [...clock]
  return ClaimLedger.open({
    dir,
    now: () => new Date(times.length > 1 ? (times.shift() ?? T1) : (times[0] ?? T1)),
  })
}

async function fileClaims(dir: string): Promise<Record<string, ClaimRecord>> {
  const doc = JSON.parse(await readFile(join(dir, STATE_FILE_NAME), 'utf8')) as {
    apiVersion: string
    kind: string
    claims: Record<string, ClaimRecord>
  }
  return doc.claims
}

t.test('prepared: durable, versioned file, empty attachments, stamped time', async t => {
  const dir = t.testdir()
  const l = await open(dir)
  const rec = await l.prepared(claim('u1'))
  t.strictSame(rec, { ...claim('u1'), attachments: [], preparedAt: T0 })
  t.strictSame(l.claim('u1'), rec)
  const doc = JSON.parse(await readFile(join(dir, STATE_FILE_NAME), 'utf8')) as unknown
  t.match(doc, { apiVersion: 'network-dra.state/v1', kind: 'PluginState', claims: { u1: rec } })
  const other = await open(dir)
  t.strictSame(other.claim('u1'), rec, 'a second instance reads it back')
  t.equal(l.path, join(dir, STATE_FILE_NAME))
  await l.close()
  await other.close()
})

t.test('prepared keeps the record another instance wrote meanwhile', async t => {
  const dir = t.testdir()
  const ours = await open(dir)
  const peer = await open(dir, [T1])
  await peer.prepared(claim('u1'))
  await peer.attached('u1', target('sb1'), result)
  t.equal(ours.claim('u1'), undefined, 'not seen before a refresh')
  const rec = await ours.prepared(claim('u1'))
  t.equal(rec.preparedAt, T1, "the peer's record")
  t.equal(rec.attachments.length, 1, 'its attachment is not lost')
  t.strictSame((await fileClaims(dir)).u1, rec)
})

const attachCases: {
  name: string
  steps: (l: ClaimLedger) => Promise<unknown>
  want: Partial<ClaimRecord['attachments'][number]>[]
  last: unknown
}[] = [
  {
    name: 'attached records the result, no error',
    steps: l => l.attached('u1', target('sb1'), result),
    want: [{ sandboxId: 'sb1', phase: 'attached', result, updatedAt: T1 }],
    last: { phase: 'attached', sandboxId: 'sb1' },
  },
  {
    name: 'attachFailed records the error, no result',
    steps: l => l.attachFailed('u1', target('sb1'), 'macvlan: no master'),
    want: [{ sandboxId: 'sb1', phase: 'failed', error: 'macvlan: no master' }],
    last: { phase: 'failed' },
  },
  {
    name: 'a later attach of the same device replaces the earlier record (any sandbox)',
    steps: async l => {
      await l.attachFailed('u1', target('sb1'), 'boom')
      return l.attached('u1', target('sb2'), result)
    },
    want: [{ sandboxId: 'sb2', phase: 'attached' }],
    last: { sandboxId: 'sb2' },
  },
  {
    name: 'devices keep one record each',
    steps: async l => {
      await l.attached('u1', target('sb1', 'attachment-0'), result)
      return l.attached('u1', target('sb1', 'attachment-1'), result)
    },
    want: [{ device: 'attachment-0' }, { device: 'attachment-1' }],
    last: { device: 'attachment-1' },
  },
  {
    name: 'unknown claim → undefined, nothing written',
    steps: l => l.attached('nope', target('sb1'), result),
    want: [],
    last: undefined,
  },
  {
    name: 'a device the claim has no plan for → undefined, nothing written',
    steps: l => l.attachFailed('u1', target('sb1', 'attachment-9'), 'x'),
    want: [],
    last: undefined,
  },
]

for (const c of attachCases) {
  t.test(c.name, async t => {
    const dir = t.testdir()
    const l = await open(dir)
    await l.prepared(claim('u1', ['attachment-0', 'attachment-1']))
    const last = await c.steps(l)
    t.match(last, c.last)
    if (c.last === undefined) t.equal(last, undefined)
    const atts = (await fileClaims(dir)).u1?.attachments ?? []
    t.match(atts, c.want)
    t.equal(atts.length, c.want.length)
    for (const a of atts) {
      t.equal('result' in a, a.phase === 'attached', 'result only when attached')
      t.equal('error' in a, a.phase === 'failed', 'error only when failed')
    }
    t.strictSame(l.claim('u1')?.attachments, atts, 'the snapshot follows the file')
  })
}

t.test('detached removes exactly the named records', async t => {
  const dir = t.testdir()
  const l = await open(dir)
  await l.prepared(claim('u1', ['attachment-0', 'attachment-1']))
  await l.attached('u1', target('sb1', 'attachment-0'), result)
  await l.attached('u1', target('sb2', 'attachment-1'), result)
  await l.detached('u1', [
    { request: 'net', device: 'attachment-1', sandboxId: 'sb-old' },
    { request: 'net', device: 'attachment-0', sandboxId: 'sb1' },
  ])
  t.match(l.claim('u1')?.attachments, [{ device: 'attachment-1', sandboxId: 'sb2' }])
  t.equal(l.claim('u1')?.attachments.length, 1, 'a newer sandbox of the device stays')
  await l.detached('u1', [])
  await l.detached('nope', [{ request: 'net', device: 'attachment-1', sandboxId: 'sb2' }])
  t.equal(l.claim('u1')?.attachments.length, 1)
  t.equal(l.claim('nope'), undefined, 'detached never creates a claim')
})

t.test('dropped forgets the claim; again is a no-op', async t => {
  const dir = t.testdir()
  const l = await open(dir)
  await l.prepared(claim('u1'))
  await l.prepared(claim('u2'))
  t.equal(await l.dropped('u1'), true)
  t.equal(await l.dropped('u1'), false)
  t.same(Object.keys(l.claims()), ['u2'])
  t.same(Object.keys(await fileClaims(dir)), ['u2'])
})

// Invariant (rolling update): two instances share the file; what one records the other sees after
// refresh(), and transitions of both on one claim are all kept.
t.test('two instances: refresh sees the peer, no transition is lost', async t => {
  const dir = t.testdir()
  const a = await open(dir)
  const b = await open(dir)
  await a.prepared(claim('u1', ['attachment-0', 'attachment-1']))
  t.equal(b.claim('u1'), undefined)
  t.ok((await b.refresh()).u1, 'seen after refresh')
  await Promise.all([
    a.attached('u1', target('sb1', 'attachment-0'), result),
    b.attached('u1', target('sb1', 'attachment-1'), result),
  ])
  t.same((await a.refresh()).u1?.attachments.map(x => x.device).sort(), [
    'attachment-0',
    'attachment-1',
  ])
  t.same(await b.refresh(), a.claims(), 'both instances agree once refreshed')
  await b.dropped('u1')
  t.ok(a.claim('u1'), 'stale until refreshed')
  t.same(await a.refresh(), {})
})

t.test('a held lock fails the transition with NDRA_STATE_LOCK and writes nothing', async t => {
  const dir = t.testdir()
  const l = await ClaimLedger.open({ dir, lockTimeoutMs: 200 })
  await l.prepared(claim('u1'))
  const release = await lock(join(dir, STATE_FILE_NAME), {
    lockfilePath: join(dir, STATE_LOCK_NAME),
    realpath: false,
  })
  await t.rejects(l.attached('u1', target('sb1'), result), { code: 'NDRA_STATE_LOCK' })
  await release()
  t.same((await fileClaims(dir)).u1?.attachments, [])
})

t.test('closed: transitions refused', async t => {
  const l = await open(t.testdir())
  await l.close()
  await t.rejects(l.prepared(claim('u1')), { code: 'NDRA_SHUTTING_DOWN' })
  await t.rejects(l.dropped('u1'), { code: 'NDRA_SHUTTING_DOWN' })
})

t.test('a corrupt file stops open (never reset)', async t => {
  const dir = t.testdir({ [STATE_FILE_NAME]: '{"apiVersion":"network-dra.state/v0"}' })
  await t.rejects(ClaimLedger.open({ dir }), { code: 'NDRA_STATE_CORRUPT' })
})
