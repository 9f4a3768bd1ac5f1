// Invariant: the hook's hand-written gRPC/HTTP2 client interoperates with a real HTTP/2 server
// (Node's nghttp2: Huffman + dynamic-table header blocks, trailers and trailers-only replies,
// flow control for large requests) and reports every failure as a TransportError with a code.
import t, { type Test } from 'tap'
import { createServer, constants, type Http2Server, type ServerHttp2Stream } from 'node:http2'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  TransportError,
  decodeGrpcMessage,
  grpcFrame,
  grpcUnframe,
  grpcUnixCall,
  requestHeaders,
  type UnaryCallResult,
} from '../../../hook/grpc-unix-call.js'

type Handler = (stream: ServerHttp2Stream, headers: Record<string, unknown>, body: Buffer) => void

async function withServer(t: Test, handler: Handler): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'ndra-h2-'))
  const socketPath = join(dir, 's.sock')
  const server: Http2Server = createServer()
  const sessions = new Set<{ destroy(): void }>()
  server.on('session', s => {
    sessions.add(s)
  })
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = []
    stream.on('error', () => {
      // server-side resets in the failure cases below surface here; the client's view is tested
    })
    stream.on('data', (c: Buffer) => chunks.push(c))
    stream.on('end', () => {
      handler(stream, headers, Buffer.concat(chunks))
    })
  })
  await new Promise<void>(resolve => server.listen(socketPath, resolve))
  t.teardown(async () => {
    for (const s of sessions) s.destroy()
    await new Promise(resolve => server.close(resolve))
    rmSync(dir, { recursive: true, force: true })
  })
  return socketPath
}

function call(
  socketPath: string,
  message = Uint8Array.from([1, 2, 3]),
  signal = new AbortController().signal,
): Promise<UnaryCallResult> {
  return grpcUnixCall({
    socketPath,
    path: '/networkdra.hook.v1.Hook/Attach',
    message,
    timeoutMs: 5000,
    signal,
  })
}

// Header values covering every byte nghttp2 lets through, so Huffman decoding sees all symbols.
const printable = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i)).join(
  '',
)
const high = Array.from({ length: 0x80 }, (_, i) => String.fromCharCode(0x80 + i)).join('')

t.test('unary call with headers, data and trailers', async t => {
  let seen: Record<string, unknown> = {}
  let seenBody: Buffer = Buffer.alloc(0)
  const socketPath = await withServer(t, (stream, headers, body) => {
    seen = headers
    seenBody = body
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'x-printable': printable,
        'x-high': high,
        'x-again': printable,
      },
      { waitForTrailers: true },
    )
    stream.on('wantTrailers', () => {
      stream.sendTrailers({
        'grpc-status': '0',
        'grpc-message': 'OK',
        'x-tail': `${printable}${high}`,
      })
    })
    stream.end(Buffer.from(grpcFrame(Uint8Array.from([9, 8, 7]))))
  })
  const r = await call(socketPath)
  t.same(r, { status: 0, statusMessage: 'OK', message: Uint8Array.from([9, 8, 7]) })
  t.equal(seen[':path'], '/networkdra.hook.v1.Hook/Attach')
  t.equal(seen['content-type'], 'application/grpc')
  t.equal(seen.te, 'trailers')
  t.equal(seen['grpc-timeout'], '5000m')
  t.same(Array.from(seenBody), [0, 0, 0, 0, 3, 1, 2, 3])
})

t.test('trailers-only error with a percent-encoded message', async t => {
  const socketPath = await withServer(t, stream => {
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': '3',
        'grpc-message': 'bad state: %C3%BC%0Anext %zz',
      },
      { endStream: true },
    )
  })
  const r = await call(socketPath)
  t.equal(r.status, 3)
  t.equal(r.statusMessage, 'bad state: ü\nnext %zz')
  t.equal(r.message.length, 0)
})

t.test('a request larger than the flow-control windows arrives whole', async t => {
  const big = new Uint8Array(300_000).map((_, i) => i % 251)
  const socketPath = await withServer(t, (stream, _h, body) => {
    const ok =
      body.length === big.length + 5 && Buffer.from(body.subarray(5)).equals(Buffer.from(big))
    stream.respond(
      { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': ok ? '0' : '13' },
      { endStream: true },
    )
  })
  const r = await call(socketPath, big)
  t.equal(r.status, 0)
})

const failures: { name: string; handler: Handler; code: string }[] = [
  {
    name: 'HTTP status other than 200',
    handler: stream => {
      stream.respond({ ':status': 415 }, { endStream: true })
    },
    code: 'EPROTO',
  },
  {
    name: 'refused stream',
    handler: stream => {
      stream.close(constants.NGHTTP2_REFUSED_STREAM)
    },
    code: 'EH2_REFUSED',
  },
  {
    name: 'reset stream',
    handler: stream => {
      stream.close(constants.NGHTTP2_INTERNAL_ERROR)
    },
    code: 'EH2_RESET',
  },
  {
    name: 'connection dropped before a status',
    handler: stream => {
      stream.session?.destroy()
    },
    code: 'ECLOSED',
  },
  {
    name: 'stream ended without a status',
    handler: stream => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' })
      stream.end()
    },
    code: 'EPROTO',
  },
  {
    name: 'compressed message',
    handler: stream => {
      stream.respond({ ':status': 200 }, { waitForTrailers: true })
      stream.on('wantTrailers', () => {
        stream.sendTrailers({ 'grpc-status': '0' })
      })
      stream.end(Buffer.from([1, 0, 0, 0, 1, 7]))
    },
    code: 'EPROTO',
  },
]
for (const f of failures) {
  t.test(f.name, async t => {
    const socketPath = await withServer(t, f.handler)
    await t.rejects(call(socketPath), { name: 'TransportError', code: f.code })
  })
}

t.test('missing socket', async t => {
  await t.rejects(call('/nonexistent/ndra/hook.sock'), { name: 'TransportError', code: 'ENOENT' })
})

t.test('abort before and during the call', async t => {
  const socketPath = await withServer(t, () => {
    // never answers
  })
  const ac = new AbortController()
  const p = call(socketPath, undefined, ac.signal)
  setTimeout(() => {
    ac.abort()
  }, 50)
  await t.rejects(p, { code: 'ABORTED' })
  await t.rejects(call(socketPath, undefined, AbortSignal.abort()), { code: 'ABORTED' })
})

t.test('framing helpers', async t => {
  t.same(Array.from(grpcFrame(Uint8Array.from([5]))), [0, 0, 0, 0, 1, 5])
  t.same(Array.from(grpcUnframe(Uint8Array.from([0, 0, 0, 0, 1, 5]))), [5])
  t.equal(grpcUnframe(new Uint8Array(0)).length, 0)
  t.throws(() => grpcUnframe(Uint8Array.from([0, 0])), TransportError)
  t.throws(() => grpcUnframe(Uint8Array.from([0, 0, 0, 0, 2, 5])), TransportError)
  t.equal(decodeGrpcMessage('a%20b%'), 'a b%')
  const h = Object.fromEntries(requestHeaders('/p', 0.2))
  t.equal(h['grpc-timeout'], '1m')
  t.equal(Object.fromEntries(requestHeaders('/p', 1e12))['grpc-timeout'], '99999999m')
})
