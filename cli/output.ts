/**
 * How the CLI answers: `--json` prints each result as one JSON document on stdout (and an error as
 * `{"error": {code, message}}` there too), otherwise readable lines; progress and hints go to stderr.
 * Exit codes: 0 ok, 1 failure, 2 usage.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/** Something the CLI cannot do: printed (code and message) and turned into its exit code. */
export class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    readonly code = exitCode === EXIT.usage ? 'USAGE' : 'FAILED',
    readonly hint?: string,
    /** What the verb got before it failed (a preview, a report): printed beside the error with --json. */
    readonly data?: Readonly<Record<string, unknown>>,
  ) {
    super(message);
  }
}

export const usage = (message: string): CliFailure => new CliFailure(message, EXIT.usage);

export interface Output {
  readonly json: boolean;
  /** The verb's answer: `data` with --json, the text lines otherwise. */
  result(data: unknown, text: () => string | readonly string[]): void;
  /** Readable lines on stdout without --json, nothing with it: a part shown before the rest (a preview, then a prompt). */
  partial(text: () => string | readonly string[]): void;
  /** A line for a person (stderr), never in the way of --json on stdout. */
  note(line: string): void;
  failure(error: CliFailure): void;
}

export function output(json: boolean, io: Io = processIo): Output {
  return {
    json,
    result(data, text) {
      if (json) io.out(`${JSON.stringify(data, null, 2)}\n`);
      else {
        const lines = text();
        io.out(`${typeof lines === 'string' ? lines : lines.join('\n')}\n`);
      }
    },
    partial(text) {
      if (json) return;
      const lines = text();
      io.out(`${typeof lines === 'string' ? lines : lines.join('\n')}\n`);
    },
    note(line) {
      if (!json) io.err(`${line}\n`);
    },
    failure(error) {
      if (json)
        io.out(`${JSON.stringify({ ...error.data, error: { code: error.code, message: error.message } }, null, 2)}\n`);
      else io.err(`${error.code === 'USAGE' || error.code === 'FAILED' ? '' : `${error.code}: `}${error.message}\n`);
      if (error.hint && !json) io.err(`${error.hint}\n`);
    },
  };
}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** Aligned columns, for lists. */
export function columns(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** A whole number in [min, max] from an option or argument, or a usage error naming it. */
export function wholeNumber(name: string, min: number, max: number): (text: string) => number {
  return (text) => {
    const n = Number(text);
    if (/^\d+$/.test(text) && n >= min && n <= max) return n;
    throw usage(`${name} must be a whole number from ${min} to ${max}, got '${text}'`);
  };
}
