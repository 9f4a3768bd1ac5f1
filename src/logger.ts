/**
 * The one structured JSON logger (pino). Made in main.ts and passed down; child loggers carry
 * claim and pod context (`claimUID`, `namespace`, `name`, `podUID`).
 */
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino'

export type Logger = PinoLogger

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'

/** Build the process logger. `destination` is for tests; production writes JSON to stdout. */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const opts = {
    level,
    base: { component: 'network-dra-plugin' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  }
  return destination ? pino(opts, destination) : pino(opts)
}

/** A logger that drops everything; for unit tests of modules that take a logger. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' })
}
