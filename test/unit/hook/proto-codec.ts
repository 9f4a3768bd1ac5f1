// Invariant: the hand-written hook codec produces the same bytes as protobufjs for AttachRequest
// and decodes every AttachReply protobufjs produces (plus unknown fields) to the same values.
import t from 'tap'
import protobuf from 'protobufjs'
import { fileURLToPath } from 'node:url'
import {
  ProtoDecodeError,
  decodeAttachReply,
  encodeAttachRequest,
  readVarint,
  writeVarint,
} from '../../../hook/proto-codec.js'

const protoPath = fileURLToPath(new URL('../../../proto/hook/v1/hook.proto', import.meta.url))
const root = protobuf.loadSync(protoPath)
const Req = root.lookupType('networkdra.hook.v1.AttachRequest')
const Rep = root.lookupType('networkdra.hook.v1.AttachReply')

const bigState = new TextEncoder().encode(
  JSON.stringify({ id: 'c', bundle: '/b', annotations: { big: 'x'.repeat(200_000) } }),
)

const requests = [
  {
    name: 'typical',
    claimUid: '0c7a3b9e-1f2d-4e5a-9b8c-7d6e5f4a3b2c',
    request: 'net1',
    device: 'attachment-3',
    state: '{"id":"c","bundle":"/b"}',
  },
  { name: 'unicode', claimUid: 'ü-ñ-中', request: 'réq', device: 'dev-😀', state: '{"id":"ä"}' },
  {
    name: 'state over 127 bytes',
    claimUid: 'u',
    request: 'r',
    device: 'd',
    state: 'x'.repeat(300),
  },
  {
    name: 'state over 16 KiB',
    claimUid: 'u',
    request: 'r',
    device: 'd',
    state: 'y'.repeat(20_000),
  },
]

for (const c of requests) {
  t.test(`request ${c.name} matches protobufjs`, async t => {
    const ociState = new TextEncoder().encode(c.state)
    const mine = encodeAttachRequest({
      claimUid: c.claimUid,
      request: c.request,
      device: c.device,
      ociState,
    })
    const theirs = Req.encode(
      Req.fromObject({ claimUid: c.claimUid, request: c.request, device: c.device, ociState }),
    ).finish()
    t.same(Buffer.from(mine), Buffer.from(theirs))
  })
}

t.test('large state matches protobufjs', async t => {
  const mine = encodeAttachRequest({ claimUid: 'u', request: 'r', device: 'd', ociState: bigState })
  const theirs = Req.encode(
    Req.fromObject({ claimUid: 'u', request: 'r', device: 'd', ociState: bigState }),
  ).finish()
  t.ok(Buffer.from(mine).equals(Buffer.from(theirs)))
})

t.test('empty fields are omitted and decode as defaults in protobufjs', async t => {
  const mine = encodeAttachRequest({
    claimUid: '',
    request: 'r',
    device: '',
    ociState: new Uint8Array(0),
  })
  const decoded = Req.toObject(Req.decode(mine), { defaults: true, bytes: String })
  t.same(decoded, { claimUid: '', request: 'r', device: '', ociState: '' })
  t.same(Array.from(mine), [0x12, 1, 0x72])
})

const replies = [
  {
    name: 'ok full',
    obj: {
      ok: true,
      message: 'attached',
      interfaceName: 'net1',
      ips: ['10.0.0.2/24', 'fd00::2/64'],
      mac: '02:00:00:00:00:01',
    },
  },
  {
    name: 'failure',
    obj: {
      ok: false,
      message: 'plugin type="macvlan" failed (add): no such master [NDRA_CNI_PLUGIN]',
    },
  },
  { name: 'empty', obj: {} },
  { name: 'unicode message', obj: { ok: false, message: 'fehlgeschlagen: Gerät 😀' } },
  { name: 'long message', obj: { ok: false, message: 'm'.repeat(5000) } },
]

for (const c of replies) {
  t.test(`reply ${c.name} decodes like protobufjs`, async t => {
    const bytes = Rep.encode(Rep.fromObject(c.obj)).finish()
    const want = Rep.toObject(Rep.decode(bytes), { defaults: true, arrays: true })
    t.same(decodeAttachReply(bytes), want)
  })
}

t.test('unknown fields of every wire type are skipped', async t => {
  const known = Rep.encode(
    Rep.fromObject({ ok: true, message: 'hi', ips: ['1.2.3.4/32'] }),
  ).finish()
  const w = protobuf.Writer.create()
  w.uint32((9 << 3) | 0).uint64(123456789012)
  w.uint32((10 << 3) | 1).fixed64(7)
  w.uint32((11 << 3) | 2).bytes(new Uint8Array([1, 2, 3]))
  w.uint32((12 << 3) | 5).fixed32(9)
  const extra = w.finish()
  const bytes = Buffer.concat([Buffer.from(extra), Buffer.from(known), Buffer.from(extra)])
  t.same(decodeAttachReply(bytes), {
    ok: true,
    message: 'hi',
    interfaceName: '',
    ips: ['1.2.3.4/32'],
    mac: '',
  })
})

const bad = [
  { name: 'truncated varint', bytes: [0x08, 0x80] },
  { name: 'truncated string', bytes: [0x12, 0x05, 0x61] },
  { name: 'wrong wire type for known field', bytes: [0x0a, 0x01, 0x00] },
  { name: 'field number 0', bytes: [0x02, 0x00] },
  { name: 'group wire type', bytes: [(13 << 3) | 3] },
  { name: 'invalid UTF-8', bytes: [0x12, 0x01, 0xff] },
  { name: 'truncated fixed64', bytes: [(9 << 3) | 1, 1, 2] },
  {
    name: 'overlong varint',
    bytes: [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  },
]
for (const c of bad) {
  t.test(`rejects ${c.name}`, async t => {
    t.throws(() => decodeAttachReply(Uint8Array.from(c.bytes)), ProtoDecodeError)
  })
}

t.test('varint round trip and protobufjs agreement', async t => {
  for (const v of [
    0,
    1,
    127,
    128,
    300,
    16_383,
    16_384,
    2 ** 31,
    2 ** 32 + 5,
    Number.MAX_SAFE_INTEGER,
  ]) {
    const out: number[] = []
    writeVarint(out, v)
    t.same(readVarint(Uint8Array.from(out), 0), [v, out.length], `value ${v}`)
    const pw = protobuf.Writer.create().uint64(v).finish()
    t.same(out, Array.from(pw), `protobufjs bytes for ${v}`)
  }
  t.throws(
    () => readVarint(Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f]), 0),
    ProtoDecodeError,
  )
})
