// Invariant: frames encode to the RFC 9113 layout and the reader returns exactly the frames sent,
// however the byte stream is split, refusing frames above the size we advertised.
import t from 'tap'
import {
  FRAME_DATA,
  FRAME_SETTINGS,
  FrameReader,
  FrameSizeError,
  encodeFrame,
  settingsPayload,
  uint32Payload,
} from '../../../hook/h2-frames.js'

t.test('header layout', async t => {
  const f = encodeFrame(FRAME_DATA, 0x1, 0x80000003, Uint8Array.from([7, 8]))
  t.same(Array.from(f), [0, 0, 2, 0, 1, 0, 0, 0, 3, 7, 8], 'reserved bit cleared')
  t.same(Array.from(settingsPayload([[4, 65_536]])), [0, 4, 0, 1, 0, 0])
  t.same(Array.from(uint32Payload(0x01020304)), [1, 2, 3, 4])
})

t.test('reader across every split point', async t => {
  const a = encodeFrame(FRAME_SETTINGS, 0, 0, settingsPayload([[2, 0]]))
  const b = encodeFrame(FRAME_DATA, 1, 1, new Uint8Array(300).fill(9))
  const all = new Uint8Array(a.length + b.length)
  all.set(a)
  all.set(b, a.length)
  for (let cut = 0; cut <= all.length; cut++) {
    const r = new FrameReader()
    const frames = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))]
    t.equal(frames.length, 2)
    t.same(
      frames.map(f => [f.type, f.flags, f.streamId, f.payload.length]),
      [
        [FRAME_SETTINGS, 0, 0, 6],
        [FRAME_DATA, 1, 1, 300],
      ],
    )
  }
})

t.test('oversized frame', async t => {
  const r = new FrameReader(100)
  t.throws(() => r.push(encodeFrame(FRAME_DATA, 0, 1, new Uint8Array(101))), FrameSizeError)
})
