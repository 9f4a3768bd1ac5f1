/**
 * Time one asynchronous step: `done` gets the seconds it took, also when it throws. The one helper
 * behind the per-step metrics of prepare and attach (`now` in milliseconds, injectable for tests).
 */
export async function timed<T>(
  step: () => Promise<T>,
  done: (seconds: number) => void,
  now: () => number = () => performance.now(),
): Promise<T> {
  const started = now()
  try {
    return await step()
  } finally {
    done(Math.max(0, now() - started) / 1000)
  }
}
