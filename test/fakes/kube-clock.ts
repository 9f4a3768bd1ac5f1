// A manual clock for unit tests of the Kubernetes-object loops: time moves only on advance(),
// which fires due timers in order; sleep() resolves immediately but records the requested delay.
import type { Clock, Timer } from '../../src/slices/clock.js'

export class FakeClock implements Clock {
  #now: number
  #timers: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = []
  #seq = 0
  readonly sleeps: number[] = []

  constructor(start = Date.parse('2026-01-02T03:04:05Z')) {
    this.#now = start
  }

  now(): Date {
    return new Date(this.#now)
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const t = { at: this.#now + ms, seq: this.#seq++, fn, cancelled: false }
    this.#timers.push(t)
    return {
      cancel: () => {
        t.cancelled = true
      },
    }
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms)
    this.#now += ms
    return Promise.resolve()
  }

  /** Pending (not cancelled, not fired) timers. */
  pending(): number {
    return this.#timers.filter(t => !t.cancelled).length
  }

  /** Move time forward, firing due timers (and letting their promises settle) in order. */
  async advance(ms: number): Promise<void> {
    const end = this.#now + ms
    for (;;) {
      const due = this.#timers
        .filter(t => !t.cancelled && t.at <= end)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0]
      if (due === undefined) break
      this.#timers = this.#timers.filter(t => t !== due)
      this.#now = Math.max(this.#now, due.at)
      due.fn()
      await settle()
    }
    this.#now = end
    await settle()
  }
}

/** Let pending promise chains run (several macrotask turns). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise(r => setImmediate(r))
}
