import type { Command } from 'commander';
import { type ApiClient, connect } from './api.js';
import { output, type Output } from './output.js';

/** The global options, as every verb sees them (`optsWithGlobals`). */
export interface GlobalOptions {
  readonly json?: boolean;
  readonly stage?: string;
  readonly region?: string;
  readonly apiUrl?: string;
}

/** What a verb works with: where its answers go and the API it talks to (connected on first use). */
export interface VerbContext {
  readonly out: Output;
  api(): ApiClient;
}

/** A verb's action: commander passes its arguments, its options and the command itself (last). */
export function verb<A extends unknown[]>(
  run: (ctx: VerbContext, ...args: A) => Promise<void>,
): (...args: [...A, Command]) => Promise<void> {
  return async (...args) => {
    const command = args.at(-1) as Command;
    const globals = command.optsWithGlobals<GlobalOptions>();
    let api: ApiClient | undefined;
    const ctx: VerbContext = {
      out: output(globals.json === true),
      api: () => {
        api ??= connect(globals);
        return api;
      },
    };
    await run(ctx, ...(args.slice(0, -1) as A));
  };
}
