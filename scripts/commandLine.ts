/** The command line of a script under scripts/, parsed once by node:util's `parseArgs` (strict). */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ScriptArgsConfig = Pick<ParseArgsConfig, 'allowPositionals'> & {
  options: NonNullable<ParseArgsConfig['options']>;
};
type WithHelp<T extends ScriptArgsConfig> = {
  options: T['options'] & { help: { type: 'boolean'; short: 'h' } };
  allowPositionals: T['allowPositionals'];
  strict: true;
};

/**
 * `--help` (`-h`) prints the one-line usage and exits 0; an unknown flag, a flag without its value or an argument the
 * script does not take prints parseArgs' message and the usage and exits 2.
 */
export function parseScriptArgs<const T extends ScriptArgsConfig>(
  usage: string,
  config: T,
): ReturnType<typeof parseArgs<WithHelp<T>>> {
  let parsed: ReturnType<typeof parseArgs<WithHelp<T>>>;
  try {
    parsed = parseArgs<WithHelp<T>>({
      ...config,
      options: { ...config.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
    } as WithHelp<T>);
  } catch (error) {
    return usageError(usage, (error as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}

/** Prints what is wrong, when given, and the usage; exits 2. */
export function usageError(usage: string, message?: string): never {
  if (message) console.error(message);
  console.error(usage);
  process.exit(2);
}

/** An option's or a positional's whole number in [min, max], or the usage and exit 2. */
export function wholeNumber(usage: string, name: string, text: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (/^\d+$/.test(text) && n >= min && n <= max) return n;
  return usageError(
    usage,
    `${name} must be a whole number from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}, got '${text}'`,
  );
}
