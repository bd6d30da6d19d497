/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The delay before retry `attempt` (1, 2, …): exponential from `baseMs`, capped at `capMs`, with jitter so that
 * retries of many callers spread out. `full` picks uniformly in [0, delay] (AWS's "full jitter", for contention
 * with other writers), `equal` in [delay / 2, 1.5 × delay] (for waits that must not collapse to zero).
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number, jitter: 'full' | 'equal' = 'full'): number {
  const delay = Math.min(capMs, baseMs * 2 ** attempt);
  return jitter === 'full' ? delay * Math.random() : delay * (0.5 + Math.random());
}
