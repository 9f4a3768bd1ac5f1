// Invariant: the HPACK decoder follows RFC 7541 (static table, dynamic table with eviction and
// size updates, literals with and without indexing, Huffman strings) and the encoder's output
// decodes back to the same headers.
import t from 'tap'
import {
  HpackDecoder,
  HpackError,
  STATIC_TABLE,
  encodeHeaders,
  readInteger,
  writeInteger,
  type Header,
} from '../../../hook/hpack.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

t.test('static table has the 61 RFC entries', async t => {
  t.equal(STATIC_TABLE.length, 61)
  t.same(STATIC_TABLE[7], [':status', '200'])
  t.same(STATIC_TABLE[30], ['content-type', ''])
  t.same(STATIC_TABLE[60], ['www-authenticate', ''])
})

t.test('integers (RFC 7541 C.1)', async t => {
  const cases: [number, number, number[]][] = [
    [10, 5, [0x0a]],
    [1337, 5, [0x1f, 0x9a, 0x0a]],
    [42, 8, [0x2a]],
    [31, 5, [0x1f, 0x00]],
  ]
  for (const [v, prefix, bytes] of cases) {
    const out: number[] = []
    writeInteger(out, v, prefix, 0)
    t.same(out, bytes, `encode ${v}/${prefix}`)
    t.same(
      readInteger(Uint8Array.from(bytes), 0, prefix),
      [v, bytes.length],
      `decode ${v}/${prefix}`,
    )
  }
  t.throws(() => readInteger(Uint8Array.from([0x1f, 0x80]), 0, 5), HpackError)
  t.throws(() => readInteger(new Uint8Array(0), 0, 5), HpackError)
  t.throws(
    () => readInteger(Uint8Array.from([0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f]), 0, 5),
    HpackError,
  )
})

t.test('RFC 7541 C.4: three requests with Huffman and the dynamic table', async t => {
  const d = new HpackDecoder()
  t.same(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ])
  t.same(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf')), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ])
  t.same(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf')), [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ])
})

t.test('RFC 7541 C.5: eviction with a 256-byte table', async t => {
  const d = new HpackDecoder(256)
  const first = d.decode(
    hex(`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`),
  )
  t.same(first, [
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['location', 'https://www.example.com'],
  ])
  // Second response: ":status 307" evicts ":status 302"; the rest come from the table.
  t.same(d.decode(hex('4803 3330 37c1 c0bf')), [
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['location', 'https://www.example.com'],
  ])
})

t.test('size update, literal without indexing, never indexed', async t => {
  const d = new HpackDecoder()
  const block = Uint8Array.from([
    0x20, // table size update to 0
    0x04,
    0x01,
    0x2f, // :path "/" without indexing (name index 4)
    0x10,
    0x01,
    0x61,
    0x01,
    0x62, // never indexed, literal name "a" value "b"
  ])
  t.same(d.decode(block), [
    [':path', '/'],
    ['a', 'b'],
  ])
  t.throws(
    () => d.decode(Uint8Array.from([0x3f, 0xe2, 0x1f])),
    HpackError,
    'update above our limit',
  )
  t.throws(() => d.decode(Uint8Array.from([0x80])), HpackError, 'index 0')
  t.throws(() => d.decode(Uint8Array.from([0xbe])), HpackError, 'empty dynamic table index')
  t.throws(() => d.decode(Uint8Array.from([0x10, 0x05, 0x61])), HpackError, 'truncated string')
  t.throws(() => d.decode(Uint8Array.from([0x10])), HpackError, 'missing string')
})

t.test('encoder output decodes back', async t => {
  const headers: Header[] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', '/networkdra.hook.v1.Hook/Attach'],
    [':authority', 'localhost'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
    ['grpc-timeout', '7999m'],
    ['x-long', 'v'.repeat(300)],
  ]
  const bytes = encodeHeaders(headers)
  t.equal(bytes[0], 0x83, ':method POST is static index 3')
  t.same(new HpackDecoder().decode(bytes), headers)
  t.throws(() => encodeHeaders([['x', '中']]), HpackError)
})
