/**
 * network-dra-probe entrypoint: the chart's exec liveness/readiness probe. GETs `<path>` from the
 * plugin's health socket (`HEALTH_SOCKET`, a per-pod path) and exits 0 on 200, 1 otherwise with the
 * reason on stderr. An exec probe against the instance's own socket, instead of an HTTP probe on a
 * host port, is what lets two plugin instances of a rolling update share a node: each probe
 * reaches exactly the instance of its own pod. Kept free of the daemon's modules so it starts fast.
 *
 * Usage: node probe.js <socket> </healthz|/readyz> [timeoutMs]
 */
import { request } from 'node:http'

function probe(socketPath: string, path: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise(resolve => {
    const req = request({ socketPath, path, method: 'GET', timeout: timeoutMs }, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => {
        resolve(
          res.statusCode === 200 ? undefined : `HTTP ${res.statusCode ?? '?'}: ${body.trim()}`,
        )
      })
    })
    req.on('timeout', () => {
      req.destroy(new Error(`no answer within ${timeoutMs} ms`))
    })
    req.on('error', err => {
      resolve(`${socketPath}: ${err.message}`)
    })
    req.end()
  })
}

const [socketPath, path, timeout] = process.argv.slice(2)
if (socketPath === undefined || path === undefined || !path.startsWith('/')) {
  console.error('usage: probe <socket> </healthz|/readyz> [timeoutMs]')
  process.exit(2)
}
const failure = await probe(socketPath, path, Number(timeout ?? '3000') || 3000)
if (failure !== undefined) {
  console.error(failure)
  process.exit(1)
}
