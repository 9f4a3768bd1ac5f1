// Invariant: the Huffman table is the complete canonical RFC 7541 code (Kraft sum exactly 1) and
// decodes the RFC's own examples; bad padding and EOS inside a string are refused.
import t from 'tap'
import { HUFFMAN_CODE_LENGTHS, HuffmanError, huffmanDecode } from '../../../hook/hpack-huffman.js'

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))
const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1')

t.test('table is a complete prefix code over 257 symbols', async t => {
  t.equal(HUFFMAN_CODE_LENGTHS.length, 257)
  // Σ 2^-len == 1, computed exactly in units of 2^-30.
  const sum = HUFFMAN_CODE_LENGTHS.reduce((acc, l) => acc + 2 ** (30 - l), 0)
  t.equal(sum, 2 ** 30)
  t.equal(Math.min(...HUFFMAN_CODE_LENGTHS), 5)
  t.equal(HUFFMAN_CODE_LENGTHS[256], 30, 'EOS is 30 bits')
})

// RFC 7541 Appendix C.4 and C.6 examples.
const examples = [
  ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
  ['a8eb 1064 9cbf', 'no-cache'],
  ['25a8 49e9 5ba9 7d7f', 'custom-key'],
  ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
  ['6402', '302'],
  ['aec3 771a 4b', 'private'],
  ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
  ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
  ['', ''],
] as const
for (const [h, want] of examples) {
  t.test(`decodes ${JSON.stringify(want)}`, async t => {
    t.equal(text(huffmanDecode(hex(h))), want)
  })
}

t.test('refuses padding that is not all ones', async t => {
  // "0" is 00000 (5 bits); pad with 000 instead of 111 → a second, incomplete "0" code.
  t.throws(() => huffmanDecode(Uint8Array.from([0b00000000])), HuffmanError)
})

t.test('refuses padding of 8 or more bits', async t => {
  t.throws(() => huffmanDecode(Uint8Array.from([0x07, 0xff])), HuffmanError) // '0' + 11 one-bits
})

t.test('refuses an EOS symbol', async t => {
  t.throws(() => huffmanDecode(Uint8Array.from([0xff, 0xff, 0xff, 0xff])), HuffmanError)
})
