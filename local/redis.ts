import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import { freePort } from './ports.js';

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL when `crash`): its data is gone, as when an ElastiCache node is replaced. */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port, empty (tests of the cache healing after an outage). */
  restart(): Promise<void>;
}

const running = new Set<ChildProcess>();
// However the parent ends, its redis-server must not outlive it.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `redis-server` on a free port, without persistence (a cache and projections that can be rebuilt). */
export async function startRedis(
  options: { port?: number; binary?: string; password?: string } = {},
): Promise<LocalRedis> {
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? 'redis-server';
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      const auth = options.password ? ['--requirepass', options.password] : [];
      const proc = spawn(
        binary,
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--save',
          '',
          '--appendonly',
          'no',
          '--protected-mode',
          'no',
          ...auth,
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      running.add(proc);
      let output = '';
      proc.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      proc.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
      let failed: Error | undefined;
      proc.once('error', (e) => (failed = e));
      proc.once('exit', () => running.delete(proc));
      for (const started = Date.now(); Date.now() - started < 10_000; ) {
        if (failed) throw new Error(`redis-server could not start (is it on PATH?): ${failed.message}`);
        if (proc.exitCode !== null) break;
        if (await answersPing(port)) {
          child = proc;
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      proc.kill('SIGKILL');
      if (attempt >= 3) throw new Error(`redis-server did not start on port ${port}: ${output}`);
    }
  };

  const stop = async ({ crash = false } = {}): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(crash ? 'SIGKILL' : 'SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    running.delete(proc);
  };

  await launch();
  return { url: `redis://127.0.0.1:${port}`, port, stop, restart: launch };
}

/** A raw PING, so readiness does not depend on a client library's reconnect behaviour; NOAUTH also means it is up. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('data', (d) => done(/^(\+PONG|-NOAUTH)/.test(d.toString())));
    socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
  });
}
