import { Presets, SingleBar } from 'cli-progress';
import type { Output } from './output.js';

export interface Progress {
  start(total: number): void;
  /** `total` may grow while the work discovers more (a reward run learns its size as it sends). */
  update(done: number, total?: number, payload?: Readonly<Record<string, string | number>>): void;
  stop(): void;
}

/**
 * A progress bar on stderr, only for a person at a terminal: never with --json, never into a pipe or a log.
 * `detail` is more of the line, with `{name}` tokens that `update`'s payload fills (`{entities} entities checked`).
 */
export function progress(out: Output, label: string, detail = ''): Progress {
  if (out.json || !process.stderr.isTTY)
    return { start: () => undefined, update: () => undefined, stop: () => undefined };
  const bar = new SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {value}/{total} {percentage}%${detail ? ` | ${detail}` : ''} | {duration_formatted}`,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  let started = false;
  return {
    start(total) {
      bar.start(total, 0);
      started = true;
    },
    update(done, total, payload) {
      if (!started) {
        bar.start(total ?? done, done, payload ?? {});
        started = true;
        return;
      }
      if (total !== undefined) bar.setTotal(total);
      bar.update(done, payload ?? {});
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
