import { spawn } from 'node:child_process';
import { Socket } from 'node:net';
import { freePort } from './ports.js';
import { type SupervisedChild, superviseChild } from './supervisor.js';

export interface LocalRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server (SIGKILL when `crash`): its data is gone, as when an ElastiCache node is replaced. */
  stop(options?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port, empty (tests of the cache healing after an outage). */
  restart(): Promise<void>;
}

const SERVER_FLAGS = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'];

/** Starts `redis-server` on a free port, without persistence (a cache and projections that can be rebuilt). */
export async function startRedis(
  options: { port?: number; binary?: string; password?: string } = {},
): Promise<LocalRedis> {
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? 'redis-server';
  const auth = options.password ? ['--requirepass', options.password] : [];
  const args = ['--port', String(port), ...SERVER_FLAGS, ...auth];

  const launch = (): Promise<SupervisedChild> =>
    superviseChild(() => spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] }), {
      ready: () => answersPing(port),
      readyTimeoutMs: 10_000,
      pollMs: 50,
      stopTimeoutMs: 3000,
      failure: ({ error, output }) =>
        new Error(
          error
            ? `redis-server could not start (is it on PATH?): ${error.message}`
            : `redis-server did not start on port ${port}: ${output}`,
        ),
    });

  let server: SupervisedChild | undefined = await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop(stopOptions) {
      const running = server;
      server = undefined;
      await running?.stop(stopOptions);
    },
    async restart() {
      server = await launch();
    },
  };
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
