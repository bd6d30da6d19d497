/** Small console helpers for the scripts: a progress bar, an aligned table, percentiles. */

export function progressBar(label: string, total: number): { update(done: number): void; done(): void } {
  const tty = process.stdout.isTTY;
  let lastDecile = -1;
  return {
    update(done: number) {
      const share = total === 0 ? 1 : Math.min(1, done / total);
      if (tty) {
        const width = 30;
        const filled = Math.round(share * width);
        process.stdout.write(
          `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${(share * 100).toFixed(0)}%`,
        );
      } else if (Math.floor(share * 10) > lastDecile) {
        lastDecile = Math.floor(share * 10);
        console.log(`${label}: ${done}/${total} (${lastDecile * 10}%)`);
      }
    },
    done() {
      if (tty) process.stdout.write('\n');
    },
  };
}

export function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length));
  const line = `+${'-'.repeat(width + 2)}+${'-'.repeat(Math.max(...rows.map(([, v]) => v.length)) + 2)}+`;
  return [line, ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v.padEnd(line.length - width - 7)} |`), line].join(
    '\n',
  );
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
