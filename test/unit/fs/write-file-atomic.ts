// Invariant: an atomic write either fully replaces the target with the exact mode or fails
// leaving the old content and no temp file; temp names never end in .json/.yaml; removal is
// idempotent.
import t from 'tap'
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  atomicTempPath,
  fsyncDir,
  removeFileDurable,
  writeFileAtomic,
} from '../../../src/fs/write-file-atomic.js'

t.test('replaces content with the exact mode', async t => {
  const dir = t.testdir({ 'a.json': 'old' })
  const path = join(dir, 'a.json')
  await writeFileAtomic(path, 'new', { mode: 0o640 })
  t.equal(await readFile(path, 'utf8'), 'new')
  t.equal((await stat(path)).mode & 0o777, 0o640)
  await writeFileAtomic(path, new TextEncoder().encode('bytes'), { mode: 0o600 })
  t.equal(await readFile(path, 'utf8'), 'bytes')
  t.equal((await stat(path)).mode & 0o777, 0o600)
  t.strictSame(await readdir(dir), ['a.json'])
})

// onReplaced sees the file as it is at the target after the rename (same inode, size, mtime), and
// is not called when the replace fails.
t.test('onReplaced gets the stat of the file now in place', async t => {
  const dir = t.testdir({ 'a.json': 'old' })
  const path = join(dir, 'a.json')
  const seen: string[] = []
  await writeFileAtomic(path, 'newer', {
    mode: 0o640,
    onReplaced: st => seen.push(`${st.ino}:${st.size}:${st.mtimeNs}`),
  })
  const st = await stat(path, { bigint: true })
  t.strictSame(seen, [`${st.ino}:${st.size}:${st.mtimeNs}`])
  await mkdir(join(dir, 'target.json', 'sub'), { recursive: true })
  await t.rejects(
    writeFileAtomic(join(dir, 'target.json'), 'x', {
      mode: 0o644,
      onReplaced: () => seen.push('failed one'),
    }),
  )
  t.equal(seen.length, 1, 'not called for a failed replace')
})

t.test('temp names are hidden, unique and not picked up as specs', async t => {
  const a = atomicTempPath('/x/spec.json')
  const b = atomicTempPath('/x/spec.json')
  t.not(a, b)
  t.match(a, /^\/x\/\.spec\.json\.\d+\.[0-9a-f]{12}\.tmp$/)
  t.notMatch(a, /\.(json|yaml)$/)
})

t.test('a failing rename leaves the old content and no temp file', async t => {
  const dir = t.testdir({ 'keep.json': 'old' })
  // A non-empty directory at the target makes the real rename(2) fail.
  await mkdir(join(dir, 'target.json', 'sub'), { recursive: true })
  await t.rejects(writeFileAtomic(join(dir, 'target.json'), 'x', { mode: 0o644 }))
  t.strictSame((await readdir(dir)).sort(), ['keep.json', 'target.json'])
  t.equal(await readFile(join(dir, 'keep.json'), 'utf8'), 'old')
})

t.test('a missing directory fails without creating anything', async t => {
  const dir = t.testdir()
  await t.rejects(writeFileAtomic(join(dir, 'no', 'a.json'), 'x', { mode: 0o644 }), {
    code: 'ENOENT',
  })
  t.strictSame(await readdir(dir), [])
})

t.test('removal is idempotent and durable', async t => {
  const dir = t.testdir({ 'a.json': 'x' })
  t.equal(await removeFileDurable(join(dir, 'a.json')), true)
  t.equal(await removeFileDurable(join(dir, 'a.json')), false)
  t.equal(await removeFileDurable(join(dir, 'missing', 'a.json')), false)
  await mkdir(join(dir, 'd'))
  await writeFile(join(dir, 'd', 'f'), '')
  await t.rejects(removeFileDurable(join(dir, 'd')), 'a directory is not removed')
  await fsyncDir(dir)
  await t.rejects(fsyncDir(join(dir, 'missing')), { code: 'ENOENT' })
})
