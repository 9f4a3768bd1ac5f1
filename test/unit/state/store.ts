// Invariant: the state store round-trips claims durably, treats a missing file as empty, refuses
// (never resets) a corrupt or foreign-version file, never leaves temp files, keeps modes 0600/0700,
// and loses no update when two instances in two processes update the same file concurrently.
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { mkdir, rm, readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { lock } from 'proper-lockfile'
import {
  STATE_LOCK_NAME,
  STATE_FILE_NAME,
  StateStore,
  type StateUpdateTimings,
} from '../../../src/state/store.js'
import { attachmentRecord, claimRecord } from './fixtures/records.js'
import type { ClaimRecord } from '../../../src/state/state-types.js'

const childScript = fileURLToPath(new URL('./fixtures/store-writer.ts', import.meta.url))

t.test('missing file is empty; nothing written until a change', async t => {
  const dir = join(t.testdir(), 'state')
  const s = await StateStore.open({ dir })
  t.strictSame(s.snapshot(), {
    apiVersion: 'network-dra.state/v1',
    kind: 'PluginState',
    claims: {},
  })
  t.equal((await stat(dir)).mode & 0o777, 0o700)
  t.equal(await s.update(() => 42), 42)
  t.strictSame(await readdir(dir), [], 'a no-op update writes nothing')
  await s.close()
})

t.test('round trip through a second instance', async t => {
  const dir = t.testdir()
  const a = await StateStore.open({ dir })
  await a.update(c => {
    c.u1 = claimRecord('u1')
    c.u2 = claimRecord('u2')
  })
  await a.update(c => {
    const u1 = c.u1!
    c.u1 = { ...u1, attachments: [attachmentRecord('sb1')] }
    delete c.u2
  })
  t.equal((await stat(join(dir, STATE_FILE_NAME))).mode & 0o777, 0o600)
  const b = await StateStore.open({ dir })
  t.strictSame(b.snapshot(), a.snapshot())
  t.strictSame(b.claim('u1'), { ...claimRecord('u1'), attachments: [attachmentRecord('sb1')] })
  t.equal(b.claim('u2'), undefined)
  t.equal(b.claim('constructor'), undefined, 'no prototype leaks')
  t.ok(Object.isFrozen(b.snapshot().claims.u1?.plans[0]), 'snapshot is deeply frozen')
  t.strictSame(await readdir(dir), [STATE_FILE_NAME], 'no temp or lock files left')
  await a.close()
  await b.close()
})

t.test('a throwing or async callback writes nothing', async t => {
  const dir = t.testdir()
  const s = await StateStore.open({ dir })
  await s.update(c => {
    c.u1 = claimRecord('u1')
  })
  const before = await readFile(join(dir, STATE_FILE_NAME), 'utf8')
  await t.rejects(
    s.update(c => {
      delete c.u1
      throw new Error('abort')
    }),
    { message: 'abort' },
  )
  await t.rejects(
    s.update(async c => {
      delete c.u1
      await Promise.resolve()
    }),
    { code: 'NDRA_INTERNAL' },
  )
  await t.rejects(
    s.update(c => {
      c.bad = { ...claimRecord('other') }
    }),
    { code: 'NDRA_INTERNAL' },
    'a record under the wrong key is refused',
  )
  t.equal(await readFile(join(dir, STATE_FILE_NAME), 'utf8'), before)
  t.ok(s.claim('u1'))
  await s.close()
  await t.rejects(
    s.update(() => 1),
    { code: 'NDRA_SHUTTING_DOWN' },
  )
})

t.test('unusable files are errors, never reset', async t => {
  const doc = (over: object) =>
    JSON.stringify({ apiVersion: 'network-dra.state/v1', kind: 'PluginState', claims: {}, ...over })
  const cases: readonly { name: string; text: string }[] = [
    { name: 'truncated JSON', text: '{"apiVersion": "network-dra.state/v1", "ki' },
    { name: 'empty file', text: '' },
    { name: 'array', text: '[]' },
    { name: 'null', text: 'null' },
    { name: 'unknown apiVersion', text: doc({ apiVersion: 'network-dra.state/v2' }) },
    { name: 'unknown kind', text: doc({ kind: 'Other' }) },
    { name: 'claims not an object', text: doc({ claims: [] }) },
    { name: 'claim missing fields', text: doc({ claims: { u1: { uid: 'u1' } } }) },
    {
      name: 'claim under wrong key',
      text: doc({ claims: { u2: claimRecord('u1') } }),
    },
    {
      name: 'bad attachment phase',
      text: doc({
        claims: {
          u1: { ...claimRecord('u1'), attachments: [{ ...attachmentRecord('s'), phase: 'x' }] },
        },
      }),
    },
    {
      name: 'bad cniArgs pair',
      text: doc({
        claims: {
          u1: {
            ...claimRecord('u1'),
            plans: [{ ...claimRecord('u1').plans[0], cniArgs: [['K']] }],
          },
        },
      }),
    },
  ]
  for (const c of cases) {
    const dir = t.testdir({ [STATE_FILE_NAME]: c.text })
    await t.rejects(StateStore.open({ dir }), { code: 'NDRA_STATE_CORRUPT' }, c.name)
    t.equal(await readFile(join(dir, STATE_FILE_NAME), 'utf8'), c.text, `${c.name}: file untouched`)
  }
})

t.test('corruption appearing later fails the update', async t => {
  const dir = t.testdir()
  const s = await StateStore.open({ dir })
  await writeFile(join(dir, STATE_FILE_NAME), '{broken')
  await t.rejects(
    s.update(c => {
      c.u1 = claimRecord('u1')
    }),
    { code: 'NDRA_STATE_CORRUPT' },
  )
  t.equal(await readFile(join(dir, STATE_FILE_NAME), 'utf8'), '{broken')
  await s.close()
})

t.test('unknown extra fields of a newer writer are kept', async t => {
  const rec = { ...claimRecord('u1'), futureField: { x: 1 } }
  const dir = t.testdir({
    [STATE_FILE_NAME]: JSON.stringify({
      apiVersion: 'network-dra.state/v1',
      kind: 'PluginState',
      claims: { u1: rec },
    }),
  })
  const s = await StateStore.open({ dir })
  await s.update(c => {
    c.u2 = claimRecord('u2')
  })
  const onDisk = JSON.parse(await readFile(join(dir, STATE_FILE_NAME), 'utf8'))
  t.strictSame(onDisk.claims.u1, rec)
  await s.close()
})

t.test('lock held elsewhere: bounded wait, then NDRA_STATE_LOCK', async t => {
  const dir = t.testdir()
  const s = await StateStore.open({ dir, lockTimeoutMs: 300 })
  const release = await lock(join(dir, STATE_FILE_NAME), {
    lockfilePath: join(dir, STATE_LOCK_NAME),
    realpath: false,
  })
  const started = Date.now()
  await t.rejects(
    s.update(c => {
      c.u1 = claimRecord('u1')
    }),
    { code: 'NDRA_STATE_LOCK' },
  )
  const waited = Date.now() - started
  t.ok(waited >= 150 && waited < 2000, `waited ${waited} ms`)
  await release()
  await s.update(c => {
    c.u1 = claimRecord('u1')
  })
  t.ok(s.claim('u1'), 'works once the lock is free')
  await s.close()
})

t.test('a stale lock of a dead process is taken over', async t => {
  const dir = t.testdir()
  const lockDir = join(dir, STATE_LOCK_NAME)
  await mkdir(lockDir)
  const old = new Date(Date.now() - 60_000)
  await utimes(lockDir, old, old)
  const s = await StateStore.open({ dir, lockTimeoutMs: 1000, lockStaleMs: 2000 })
  await s.update(c => {
    c.u1 = claimRecord('u1')
  })
  t.ok(s.claim('u1'))
  t.strictSame(await readdir(dir), [STATE_FILE_NAME])
  await s.close()
})

t.test('an unreadable state file is an error', async t => {
  const dir = t.testdir()
  await mkdir(join(dir, STATE_FILE_NAME))
  await t.rejects(StateStore.open({ dir }), { code: 'NDRA_STATE_CORRUPT', message: /EISDIR/ })
})

t.test('a lock that cannot be created at all is NDRA_STATE_LOCK', async t => {
  const dir = join(t.testdir(), 'gone')
  const s = await StateStore.open({ dir })
  await rm(dir, { recursive: true })
  await t.rejects(
    s.update(c => {
      c.u1 = claimRecord('u1')
    }),
    { code: 'NDRA_STATE_LOCK', message: /ENOENT/ },
  )
  await s.close()
})

t.test('in-process: two instances, interleaved updates, none lost', async t => {
  const dir = t.testdir()
  const a = await StateStore.open({ dir })
  const b = await StateStore.open({ dir })
  const bump = (s: StateStore, id: string) =>
    s.update(c => {
      c[id] = claimRecord(id)
      const shared = c.shared ?? claimRecord('shared')
      c.shared = { ...shared, attachments: [...shared.attachments, attachmentRecord(id)] }
    })
  await Promise.all(
    Array.from({ length: 25 }, (_, i) => [bump(a, `a-${i}`), bump(b, `b-${i}`)]).flat(),
  )
  const c = await StateStore.open({ dir })
  t.equal(Object.keys(c.snapshot().claims).length, 51)
  t.equal(c.claim('shared')?.attachments.length, 50)
  await Promise.all([a.close(), b.close(), c.close()])
})

function runChild(
  dir: string,
  id: string,
  count: number,
  barrier: string,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...process.execArgv, childScript, dir, id, String(count), barrier],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', reject)
    child.on('close', code => {
      resolve({ code, stderr })
    })
  })
}

t.test('two processes, 50 interleaved updates each, none lost', async t => {
  const dir = t.testdir()
  const started = Date.now()
  // Both writers open the store, then start together (a barrier), so their updates contend even
  // when one process is slow to start on a loaded machine.
  const barrier = mkdtempSync(join(tmpdir(), 'ndra-store-barrier-'))
  t.teardown(() => rm(barrier, { recursive: true, force: true }))
  const running = Promise.all([runChild(dir, 'p1', 50, barrier), runChild(dir, 'p2', 50, barrier)])
  while (!(existsSync(join(barrier, 'ready-p1')) && existsSync(join(barrier, 'ready-p2')))) {
    await new Promise(r => setTimeout(r, 5))
  }
  writeFileSync(join(barrier, 'go'), '')
  const results = await running
  for (const r of results) t.equal(r.code, 0, r.stderr)
  const s = await StateStore.open({ dir })
  const claims = s.snapshot().claims
  t.equal(Object.keys(claims).length, 101, '100 own claims + shared')
  for (const p of ['p1', 'p2']) {
    for (let i = 0; i < 50; i++) t.ok(claims[`${p}-${i}`], `${p}-${i} present`)
  }
  const shared = s.claim('shared')?.attachments.map(x => x.sandboxId) ?? []
  t.equal(shared.length, 100, 'every read-modify-write of the shared claim kept')
  t.equal(new Set(shared).size, 100)
  // Interleaving really happened: neither process ran all its updates before the other started.
  const firstP2 = shared.findIndex(x => x.startsWith('p2-'))
  const lastP1 = shared.findLastIndex(x => x.startsWith('p1-'))
  t.comment(`first p2 at ${firstP2}, last p1 at ${lastP1}, ${Date.now() - started} ms`)
  t.ok(firstP2 < lastP1, 'updates interleaved')
  t.strictSame(await readdir(dir), [STATE_FILE_NAME], 'no temp or lock files left')
  await s.close()
})

// Invariant (rolling-update overlap): an instance sees another instance's writes after refresh(),
// and refresh() costs one stat when nothing changed (the snapshot object stays the same).
t.test("refresh picks up another instance's writes", async t => {
  const dir = t.testdir()
  const a = await StateStore.open({ dir })
  const b = await StateStore.open({ dir })
  await a.update(c => {
    c.u1 = claimRecord('u1')
  })
  t.equal(b.claim('u1'), undefined, 'stale until refreshed')
  const s1 = await b.refresh()
  t.strictSame(b.claim('u1'), claimRecord('u1'))
  t.equal(await b.refresh(), s1, 'unchanged file: same snapshot, no re-read')
  await b.update(c => {
    delete c.u1
  })
  t.ok(a.claim('u1'), 'a is stale')
  await a.refresh()
  t.equal(a.claim('u1'), undefined)
  await a.close()
  await b.close()
})

// Invariant (fast path): refresh() of an unchanged file does not wait behind this instance's
// updates in flight (a prepare's refresh must not queue behind a batch waiting for the lock or the
// disk); the snapshot it returns holds every settled update and none that has not settled. A file
// another instance replaced is still re-read in order, after the updates in flight.
t.test('refresh does not queue behind updates in flight unless the file changed', async t => {
  const dir = t.testdir()
  const s = await StateStore.open({ dir, lockTimeoutMs: 5000 })
  await s.update(c => {
    c.u1 = claimRecord('u1')
  })
  const release = await lock(join(dir, STATE_FILE_NAME), {
    lockfilePath: join(dir, STATE_LOCK_NAME),
    realpath: false,
  })
  const pending = s.update(c => {
    c.u2 = claimRecord('u2')
  })
  const started = performance.now()
  const snap = await s.refresh()
  const ms = performance.now() - started
  t.ok(ms < 100, `refresh answered in ${ms.toFixed(1)} ms while an update waited for the lock`)
  t.strictSame(Object.keys(snap.claims), ['u1'], 'settled update in, pending one not')
  // Another instance replaces the file while our update still waits: refresh now waits its turn.
  const other = await StateStore.open({ dir, lockTimeoutMs: 5000 })
  await release()
  await other.update(c => {
    c.u3 = claimRecord('u3')
  })
  await pending
  const after = await s.refresh()
  t.strictSame(Object.keys(after.claims).sort(), ['u1', 'u2', 'u3'], 'both writers seen')
  await other.close()
  await s.close()
})

t.test('the observer gets each completed update phase by phase', async t => {
  // Invariant: queue time is the wait behind this instance's batch in flight, lock time the wait
  // for another holder of the file lock; an update whose callback throws is not observed.
  const dir = t.testdir()
  const seen: StateUpdateTimings[] = []
  const s = await StateStore.open({ dir, observer: { observeUpdate: x => seen.push(x) } })
  const release = await lock(join(dir, STATE_FILE_NAME), {
    lockfilePath: join(dir, STATE_LOCK_NAME),
    realpath: false,
  })
  const first = s.update(c => {
    c.u1 = claimRecord('u1')
  })
  const failing = s.update(() => {
    throw new Error('abort')
  })
  await new Promise(r => setTimeout(r, 200))
  // Called while the first batch waits for the lock: it goes into the next batch.
  const second = s.update(c => {
    c.u2 = claimRecord('u2')
  })
  await new Promise(r => setTimeout(r, 20))
  await release()
  await Promise.all([first, second, t.rejects(failing, { message: 'abort' })])
  t.equal(seen.length, 2)
  const [a, b] = seen
  t.ok(a && a.lock >= 0.15 && a.queue < 0.05, `first waited for the lock: ${JSON.stringify(a)}`)
  t.ok(b && b.queue >= 0.01 && b.lock < 0.15, `second waited in the queue: ${JSON.stringify(b)}`)
  for (const x of seen) {
    t.ok(x.write > 0, 'write phase timed')
    t.ok(Math.abs(x.total - (x.queue + x.lock + x.write)) < 0.05, 'total covers the phases')
  }
  await s.close()
})

t.test('group commit: concurrent updates share writes, in call order, each isolated', async t => {
  // Invariant: updates that pile up while a write is in flight are committed together (far fewer
  // file replacements than updates), each callback sees the changes of the ones called before it,
  // and a callback that throws (or touches a frozen record) loses only its own change.
  const dir = t.testdir()
  // Updates committed by one write share its lock and write phase timings exactly.
  const batches = new Set<string>()
  const s = await StateStore.open({
    dir,
    observer: { observeUpdate: x => batches.add(`${x.lock}/${x.write}`) },
  })
  await s.update(c => {
    c.seed = claimRecord('seed')
  })
  batches.clear()
  const n = 60
  const calls = Array.from({ length: n }, (_, i) => {
    if (i % 10 === 5) {
      return s.update(c => {
        c[`x${i}`] = claimRecord(`x${i}`)
        throw new Error(`abort ${i}`)
      })
    }
    if (i % 10 === 7) {
      return s.update(c => {
        ;(c.seed as { name: string }).name = 'mutated in place'
      })
    }
    return s.update(c => {
      c[`u${i}`] = claimRecord(`u${i}`)
      return Object.keys(c).filter(k => k.startsWith('u')).length
    })
  })
  const settled = await Promise.allSettled(calls)
  const counts: number[] = []
  settled.forEach((r, i) => {
    if (i % 10 === 5) t.equal(r.status, 'rejected', `update ${i} threw`)
    else if (i % 10 === 7) t.equal(r.status, 'rejected', `update ${i} mutated a frozen record`)
    else if (r.status === 'fulfilled') counts.push(r.value as number)
    else t.fail(`update ${i} rejected: ${String(r.reason)}`)
  })
  t.strictSame(
    counts,
    counts.map((_, i) => i + 1),
    'each sees every earlier change',
  )
  const fresh = await StateStore.open({ dir })
  const keys = Object.keys(fresh.snapshot().claims).sort()
  const want = [
    'seed',
    ...Array.from({ length: n }, (_, i) => i)
      .filter(i => i % 10 !== 5 && i % 10 !== 7)
      .map(i => `u${i}`),
  ].sort()
  t.strictSame(keys, want, 'exactly the successful changes are durable')
  t.equal(fresh.claim('seed')?.name, claimRecord('seed').name, 'the frozen record is unchanged')
  t.ok(batches.size <= 3, `${n} updates committed in ${batches.size} writes`)
  await s.close()
  await fresh.close()
})

t.test('a stored record is a copy: the caller keeps a mutable object of its own', async t => {
  const dir = t.testdir()
  const s = await StateStore.open({ dir })
  const mine: { -readonly [K in keyof ClaimRecord]: ClaimRecord[K] } = claimRecord('u1')
  await s.update(c => {
    c.u1 = mine
  })
  t.notOk(Object.isFrozen(mine), "the caller's record is not frozen")
  t.not(s.claim('u1'), mine)
  t.ok(Object.isFrozen(s.claim('u1')?.plans[0]))
  mine.name = 'changed later'
  t.equal(s.claim('u1')?.name, claimRecord('u1').name)
  await s.close()
})
