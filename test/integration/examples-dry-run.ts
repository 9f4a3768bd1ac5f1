// Invariant: with the chart rendered by helm with the demo allowance (examples/values-demo.yaml) and
// applied for real to the selected kube-apiserver (so its DeviceClasses and admission policies exist),
// every manifest in examples/ is accepted by `kubectl apply --dry-run=server` unchanged in the
// granted demo namespace, and the chart's claim-config admission policy is live (a claim setting a
// forbidden key is refused with a message naming the key and the rule).
import { readFile, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { PLATFORM } from '../lib/platform.js'
import { KUBECONFIG_ENV, kubeconfigPath, ROOT } from './lib/daemon.js'
import { runProcess, type ProcessRun } from './lib/process.js'
import { randomSuffix } from './lib/netns.js'

const HELM = PLATFORM.helm
const KUBECTL = PLATFORM.kubectl

const FORBIDDEN_KEY_CLAIM = (name: string): string => `
apiVersion: resource.k8s.io/v1
kind: ResourceClaim
metadata:
  name: ${name}
spec:
  devices:
    requests:
      - name: net
        exactly:
          deviceClassName: attachment.network-dra.dev
    config:
      - requests: [net]
        opaque:
          driver: network-dra.dev
          parameters:
            apiVersion: network-dra.dev/v1alpha1
            kind: CNIConfig
            network:
              cniVersion: 1.0.0
              name: forbidden
              plugins:
                - type: bridge
                  ipam: {type: host-local, subnet: 10.10.9.0/24, dataDir: /etc}
`

t.test(
  'examples pass server-side dry run with the chart applied',
  { timeout: 180_000 },
  async t => {
    const kubeconfig = await kubeconfigPath()
    if (kubeconfig === undefined) {
      t.fail(
        `no control plane: run \`bash scripts/test/integration.sh\` or set ${KUBECONFIG_ENV} (scripts/cluster/control-plane.sh up)`,
      )
      return
    }
    const kubectl = (args: readonly string[], stdin?: string): Promise<ProcessRun> =>
      runProcess(KUBECTL, ['--kubeconfig', kubeconfig, ...args], stdin)

    const sfx = randomSuffix()
    const releaseNs = `ndra-ex-${sfx}`
    const release = `ndra-ex-${sfx}`
    /** A namespace values-demo.yaml grants raw networks (the one scripts/demo.sh uses). */
    const ns = 'network-dra-demo'
    const rendered = await runProcess(HELM, [
      'template',
      release,
      join(ROOT, 'charts', 'network-dra'),
      '--namespace',
      releaseNs,
      '--values',
      join(ROOT, 'examples', 'values-demo.yaml'),
    ])
    t.equal(rendered.code, 0, `helm template (${rendered.stderr.trim()})`)
    const chartKinds = parseAllDocuments(rendered.stdout)
      .map(d => d.toJS() as { kind?: string } | null)
      .flatMap(d => (d?.kind === undefined ? [] : [d.kind]))
    t.ok(chartKinds.includes('DeviceClass'), 'the chart renders DeviceClasses')
    t.ok(chartKinds.includes('ValidatingAdmissionPolicy'), 'and admission policies')

    for (const n of [releaseNs, ns]) {
      if ((await kubectl(['get', 'namespace', n, '-o', 'name'])).code === 0) continue
      const created = await kubectl(['create', 'namespace', n])
      t.equal(created.code, 0, `namespace ${n} (${created.stderr.trim()})`)
      t.teardown(async () => {
        await kubectl(['delete', 'namespace', n, '--ignore-not-found', '--wait=false'])
      })
    }
    t.teardown(async () => {
      // Cluster-scoped objects of the chart (DeviceClasses, policies, RBAC) go with the manifest.
      await kubectl(
        ['delete', '-n', releaseNs, '-f', '-', '--ignore-not-found', '--wait=false'],
        rendered.stdout,
      )
    })
    const applied = await kubectl(['apply', '-n', releaseNs, '-f', '-'], rendered.stdout)
    t.equal(applied.code, 0, `chart applied (${applied.stderr.trim()})`)
    const classes = await kubectl([
      'get',
      'deviceclass',
      'attachment.network-dra.dev',
      'host-interface.network-dra.dev',
      '-o',
      'name',
    ])
    t.equal(classes.code, 0, `the examples' DeviceClasses exist (${classes.stderr.trim()})`)

    // The claim-config policy is live once the apiserver's policy informer has it: a forbidden key
    // is refused, and the message names it.
    const deadline = Date.now() + 30_000
    let refused: ProcessRun
    for (;;) {
      refused = await kubectl(
        ['apply', '--dry-run=server', '-n', ns, '-f', '-'],
        FORBIDDEN_KEY_CLAIM('forbidden-key'),
      )
      if (refused.code !== 0 || Date.now() > deadline) break
      await new Promise(r => setTimeout(r, 500))
    }
    t.not(refused.code, 0, 'a claim with a forbidden key is refused at admission')
    t.match(
      refused.stderr,
      /denied request: network-dra policy \[forbidden-key\] .*key "dataDir" is forbidden/,
      refused.stderr.trim(),
    )

    const files = (await readdir(join(ROOT, 'examples')))
      .filter(f => /\.ya?ml$/.test(f) && !f.startsWith('values-'))
      .sort()
    t.ok(files.length >= 5, `examples found: ${files.join(', ')}`)
    for (const file of files) {
      const path = join(ROOT, 'examples', file)
      const r = await kubectl(['apply', '--dry-run=server', '-n', ns, '-f', path])
      t.equal(r.code, 0, `${file}: accepted (${r.stderr.trim()})`)
      const objects = parseAllDocuments(await readFile(path, 'utf8'))
        .map(d => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
        .filter(d => d?.kind !== undefined)
      for (const o of objects) {
        const kind = (o?.kind ?? '').toLowerCase()
        const name = o?.metadata?.name ?? ''
        const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        t.match(
          r.stdout,
          new RegExp(`^${kind}(\\.[a-z0-9.]+)?/${escaped} created \\(server dry run\\)$`, 'm'),
          `${file}: ${o?.kind ?? ''}/${name} passed the server's validation and admission`,
        )
      }
    }
    const leftover = await kubectl([
      'get',
      'resourceclaims,pods,deployments',
      '-n',
      ns,
      '-o',
      'name',
    ])
    t.equal(leftover.stdout.trim(), '', 'dry run created nothing')
  },
)
