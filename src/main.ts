/**
 * network-dra-plugin entrypoint: parse configuration (flags + env), build the logger, metrics and
 * kube client, start the driver, and stop it in order on SIGTERM/SIGINT. The only module that reads
 * `process.env` (besides config.ts) and the only one that exits.
 */
import { loadConfig } from './config.js'
import { Driver } from './driver/driver.js'
import { InvalidConfigError, errorMessage } from './errors.js'
import { loadKubeConfig } from './kube/kube-config.js'
import { createLogger } from './logger.js'
import { Metrics } from './observability/metrics.js'

async function main(): Promise<number> {
  let config
  try {
    config = loadConfig(process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof InvalidConfigError) {
      console.error(err.message)
      return 2
    }
    const e = err as { code?: string; exitCode?: number }
    // commander prints --help / --version / usage errors itself.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return 0
    return e.exitCode ?? 2
  }
  const logger = createLogger(config.logLevel)
  const metrics = new Metrics({ defaultMetrics: true })
  const driver = new Driver({
    config,
    logger,
    metrics,
    kubeConfig: loadKubeConfig(config.kubeconfig),
    pluginEnv: process.env,
  })
  let stopping: Promise<void> | undefined
  const stop = (signal: string): Promise<void> => {
    if (!stopping) {
      logger.info({ signal }, 'stopping')
      stopping = driver.stop()
    }
    return stopping
  }
  const stopped = new Promise<void>(resolve => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.on(signal, () => {
        void stop(signal).then(resolve)
      })
    }
  })
  try {
    await driver.start()
  } catch (err) {
    logger.fatal({ err: errorMessage(err) }, 'start-up failed')
    await stop('start-up failure')
    return 1
  }
  await stopped
  return 0
}

main().then(
  code => process.exit(code),
  (err: unknown) => {
    console.error(`network-dra-plugin: ${errorMessage(err)}`)
    process.exit(1)
  },
)
