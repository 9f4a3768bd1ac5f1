/**
 * HPACK Huffman decoding (RFC 7541 §5.2, Appendix B) for the hook's minimal HTTP/2 client. The
 * code is canonical, so the table is kept as the 257 code lengths (symbols 0–255 and EOS = 256,
 * in symbol order) and the codes are rebuilt from them once. Only decoding is needed: the hook
 * sends its own headers as plain literals.
 */

/** Code length in bits of each symbol (RFC 7541 Appendix B), index = symbol, 256 = EOS. */
export const HUFFMAN_CODE_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, 5, 5, 5,
  6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6,
  7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23,
  23, 23, 24, 23, 24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22,
  22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22,
  23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27,
  27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25,
  24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
]

/** Malformed Huffman data (bad padding or an EOS symbol inside the string). */
export class HuffmanError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'HuffmanError'
  }
}

interface Canonical {
  /** For each length L: first canonical code of that length, or -1 when none. */
  readonly firstCode: readonly number[]
  /** For each length L: index into `symbols` of the first symbol of that length. */
  readonly firstIndex: readonly number[]
  /** Number of codes of each length. */
  readonly count: readonly number[]
  /** Symbols sorted by (length, symbol): the canonical order. */
  readonly symbols: readonly number[]
}

function buildCanonical(lengths: readonly number[]): Canonical {
  const maxLen = Math.max(...lengths)
  const count = new Array<number>(maxLen + 1).fill(0)
  for (const l of lengths) count[l] = (count[l] ?? 0) + 1
  const symbols = lengths
    .map((l, s) => [l, s] as const)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
    .map(([, s]) => s)
  const firstCode = new Array<number>(maxLen + 1).fill(-1)
  const firstIndex = new Array<number>(maxLen + 1).fill(0)
  let code = 0
  let index = 0
  for (let len = 1; len <= maxLen; len++) {
    const n = count[len] ?? 0
    firstCode[len] = code
    firstIndex[len] = index
    code = (code + n) * 2
    index += n
  }
  return { firstCode, firstIndex, count, symbols }
}

const canonical = buildCanonical(HUFFMAN_CODE_LENGTHS)
const EOS = 256

/** Decode a Huffman-coded HPACK string literal to bytes. */
export function huffmanDecode(input: Uint8Array): Uint8Array {
  const out: number[] = []
  let code = 0
  let len = 0
  let bitsSinceSymbol = 0
  let allOnes = true
  for (const byte of input) {
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >> bit) & 1
      code = code * 2 + b
      len++
      bitsSinceSymbol++
      if (b === 0) allOnes = false
      const n = canonical.count[len] ?? 0
      const first = canonical.firstCode[len] ?? -1
      if (n > 0 && code - first < n && code >= first) {
        const sym = canonical.symbols[(canonical.firstIndex[len] ?? 0) + code - first] ?? EOS
        if (sym === EOS) throw new HuffmanError('EOS symbol inside a Huffman string')
        out.push(sym)
        code = 0
        len = 0
        bitsSinceSymbol = 0
        allOnes = true
      } else if (len > 30) {
        throw new HuffmanError('invalid Huffman code')
      }
    }
  }
  // RFC 7541 §5.2: padding is < 8 bits of the EOS prefix (all ones).
  if (bitsSinceSymbol > 7 || !allOnes) throw new HuffmanError('invalid Huffman padding')
  return Uint8Array.from(out)
}
