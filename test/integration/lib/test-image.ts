// The one container image every podman-based integration test runs: `localhost/network-dra-test:v1`
// (static busybox with relative applet links), built offline by `scripts/images/build.sh cluster`, the
// same image the cluster, the examples and the end-to-end tests use. No registry is reachable from
// test machines, so nothing is pulled.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Tag of the test image (scripts/images/build.sh TEST_IMAGE). */
export const TEST_IMAGE = 'localhost/network-dra-test:v1'

const IMAGES_SH = new URL('../../../scripts/images/build.sh', import.meta.url).pathname

let pending: Promise<string> | undefined

/**
 * Make sure {@link TEST_IMAGE} exists locally and return its tag. `scripts/images/build.sh cluster` skips
 * every image whose inputs did not change, so this is cheap when the image is up to date; calls in
 * one process share one run.
 */
export function ensureTestImage(): Promise<string> {
  pending ??= run('bash', [IMAGES_SH, 'cluster'], { timeout: 600_000 })
    .then(() => TEST_IMAGE)
    .finally(() => {
      pending = undefined
    })
  return pending
}
