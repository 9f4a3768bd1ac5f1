// Invariant: cache entries are byte-identical to what libcni (cni v1.3.0 AddNetworkList) writes for
// the same inputs — the golden file was produced by libcni itself — live at
// <cacheDir>/results/<net>-<cid>-<ifname> with 0600/0700 modes, and are read back (v1 and legacy).
import t from 'tap'
import { readFile, stat, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ResultCache, decodeCacheFile, encodeCacheEntry } from '../../../src/cni/cache.js'
import { parseResult } from '../../../src/cni/result.js'

const fixtures = join(import.meta.dirname, 'fixtures')
const pluginStdout =
  '{"cniVersion":"1.1.0","interfaces":[{"name":"net1","mac":"02:42:ac:11:00:02","mtu":1400,"sandbox":"/run/netns/pod<1>"}],"ips":[{"interface":0,"address":"10.1.2.3/24","gateway":"10.1.2.1"},{"interface":0,"address":"fd00::3/64"}],"routes":[{"dst":"0.0.0.0/0","gw":"10.1.2.1"}],"dns":{"nameservers":["10.1.2.1"],"search":["a&b.example"]}}'

async function goldenEntry() {
  return {
    containerId: 'ctr-0123',
    networkName: 'golden-net',
    ifName: 'net1',
    config: await readFile(join(fixtures, 'golden-net.conflist')),
    netns: '/run/netns/pod<1>',
    cniArgs: [
      ['IgnoreUnknown', '1'],
      ['K8S_POD_NAME', 'web&1'],
    ] as [string, string][],
    capabilityArgs: {
      mac: '02:42:ac:11:00:02',
      portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      ips: ['10.1.2.3/24'],
    },
    result: parseResult(pluginStdout, '1.1.0'),
  }
}

t.test('encodes byte-for-byte like libcni', async tt => {
  const golden = await readFile(join(fixtures, 'libcni-cache-v1.golden'), 'utf8')
  tt.equal(encodeCacheEntry(await goldenEntry()), golden)
})

t.test('omitempty fields are left out', async tt => {
  const e = { ...(await goldenEntry()), netns: '', cniArgs: [], capabilityArgs: {} }
  const raw = JSON.parse(encodeCacheEntry(e)) as Record<string, unknown>
  tt.same(Object.keys(raw), ['kind', 'containerId', 'config', 'ifName', 'networkName', 'result'])
})

t.test('decodes the libcni golden file', async tt => {
  const read = decodeCacheFile(await readFile(join(fixtures, 'libcni-cache-v1.golden')))
  tt.equal(read.kind, 'v1')
  if (read.kind !== 'v1') return
  const want = await goldenEntry()
  tt.equal(Buffer.from(read.entry.config).toString(), Buffer.from(want.config).toString())
  tt.same(read.entry.cniArgs, want.cniArgs)
  tt.same(read.entry.capabilityArgs, want.capabilityArgs)
  tt.equal(read.entry.netns, want.netns)
  tt.same(read.result, want.result)
})

t.test('legacy bare result and corrupt files', async tt => {
  const legacy = decodeCacheFile(
    Buffer.from('{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24"}]}'),
  )
  tt.equal(legacy.kind, 'legacy')
  tt.equal(legacy.result['cniVersion'], '0.4.0')
  for (const bad of [
    '{',
    '[]',
    '{"kind":"other"}',
    '{"kind":"cniCacheV1","containerId":"c"}',
    '{"ips":[]}',
  ]) {
    tt.throws(() => decodeCacheFile(Buffer.from(bad)), { code: 'NDRA_CNI_RESULT' }, bad)
  }
})

t.test('ResultCache layout, modes, read/remove/list', async tt => {
  const dir = tt.testdir()
  const cache = new ResultCache(dir)
  const e = await goldenEntry()
  await cache.write(e)
  const file = join(dir, 'results', 'golden-net-ctr-0123-net1')
  tt.equal((await stat(join(dir, 'results'))).mode & 0o777, 0o700)
  tt.equal((await stat(file)).mode & 0o777, 0o600)
  tt.equal(await readFile(file, 'utf8'), encodeCacheEntry(e))
  const r = await cache.read('golden-net', 'ctr-0123', 'net1')
  tt.equal(r?.kind, 'v1')
  tt.equal(await cache.read('golden-net', 'other', 'net1'), undefined)
  // a second entry, a legacy file, an entry without ifName, and junk: list keeps only full v1 entries
  await cache.write({ ...e, containerId: 'ctr-9', networkName: 'other-net' })
  await writeFile(join(dir, 'results', 'legacy-ctr-1-net1'), '{"cniVersion":"1.0.0"}')
  await writeFile(
    join(dir, 'results', 'x-ctr-2-net1'),
    '{"kind":"cniCacheV1","containerId":"ctr-2","networkName":"x","result":{}}',
  )
  await writeFile(join(dir, 'results', 'junk'), 'not json')
  await mkdir(join(dir, 'results', 'adir'))
  const all = await cache.list()
  tt.same(
    all.map(a => `${a.networkName}/${a.containerId}/${a.ifName}`),
    ['golden-net/ctr-0123/net1', 'other-net/ctr-9/net1'],
  )
  tt.same(
    (await cache.list('ctr-9')).map(a => a.networkName),
    ['other-net'],
  )
  tt.same(await cache.list('ctr'), [])
  await cache.remove('golden-net', 'ctr-0123', 'net1')
  await cache.remove('golden-net', 'ctr-0123', 'net1')
  tt.equal(await cache.read('golden-net', 'ctr-0123', 'net1'), undefined)
  tt.same(await new ResultCache(join(dir, 'missing')).list(), [])
  tt.throws(() => cache.path('n', 'a/b', 'net1'), { code: 'NDRA_INVALID_ARGUMENT' })
  tt.throws(() => cache.path('', 'c', 'net1'), { code: 'NDRA_INVALID_ARGUMENT' })
})
