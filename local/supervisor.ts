import type { ChildProcess } from 'node:child_process';

/** A child process that `superviseChild` saw become ready. */
export interface SupervisedChild {
  readonly child: ChildProcess;
  /** The last 4000 characters it wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM (SIGKILL when `crash`), SIGKILL if it is still alive after the stop timeout; resolves once it has exited. */
  stop(options?: { crash?: boolean }): Promise<void>;
}

export interface SuperviseOptions {
  /** One readiness check, repeated every `pollMs` until it answers true, the child exits or `readyTimeoutMs` passes. */
  readonly ready: () => Promise<boolean>;
  readonly readyTimeoutMs: number;
  readonly pollMs: number;
  readonly stopTimeoutMs: number;
  /** Starts tried before giving up (3 unless set); a child that cannot be spawned at all is not tried again. */
  readonly attempts?: number;
  /** The error thrown on giving up, from the spawn error or else the last attempt's output. */
  readonly failure: (cause: { error?: Error; output: string }) => Error;
}

const OUTPUT_CHARS = 4000;

const running = new Set<ChildProcess>();
// However the parent ends, no child started here (redis-server, java) may outlive it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Runs `start` until its child answers `ready`; a child that exits or stays silent is killed and started again. */
export async function superviseChild(
  start: () => ChildProcess | Promise<ChildProcess>,
  options: SuperviseOptions,
): Promise<SupervisedChild> {
  for (let attempt = 1; ; attempt++) {
    const watched = watch(await start(), options.stopTimeoutMs);
    if (await becomesReady(watched, options)) return watched;
    // It never served anything, so there is nothing to shut down gently.
    await watched.stop({ crash: true });
    const error = watched.error();
    if (error || attempt >= (options.attempts ?? 3)) throw options.failure({ error, output: watched.output() });
  }
}

function watch(child: ChildProcess, stopTimeoutMs: number): SupervisedChild & { error(): Error | undefined } {
  running.add(child);
  let output = '';
  const capture = (d: Buffer): void => {
    output = (output + d.toString()).slice(-OUTPUT_CHARS);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  // A spawn failure (ENOENT) is reported as `error`, and then no `exit` follows.
  let failed: Error | undefined;
  child.on('error', (e) => (failed ??= e));
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      running.delete(child);
      resolve();
    }),
  );

  return {
    child,
    output: () => output,
    error: () => failed,
    async stop({ crash = false } = {}) {
      if (alive(child)) {
        child.kill(crash ? 'SIGKILL' : 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }
      running.delete(child);
    },
  };
}

async function becomesReady(
  watched: { child: ChildProcess; error(): Error | undefined },
  options: SuperviseOptions,
): Promise<boolean> {
  for (const started = Date.now(); Date.now() - started < options.readyTimeoutMs; ) {
    if (watched.error() || !alive(watched.child)) return false;
    if (await options.ready()) return true;
    await new Promise((r) => setTimeout(r, options.pollMs));
  }
  return false;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}
