import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { loadConfig } from '../shared/config.js';
import { STALE_STACK_HINT, runningStack, stackFile, unreachable } from '../scripts/localSecrets.js';
import { CliFailure, EXIT, usage } from './output.js';

/**
 * The one way the CLI reaches Gamekeep: its HTTP API, as every other client does (STYLE.md §8). Locally the stack
 * `npm start` runs (its `.gamekeep/stack.json`: port and the local stand-ins of IAM, the admin and service
 * tokens); deployed, the internal API of a stage with SigV4-signed requests (the caller's AWS credentials, which
 * IAM maps to the operator or game-service role).
 */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

/** Who the request is made as: operators for /v1/admin/* and reads, a game service to send commands. */
export type CallerRole = 'operator' | 'service';

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly as?: CallerRole;
}

export interface ApiClient {
  /** Where it goes, for people: `local stack http://127.0.0.1:3000` or `stage prod https://…`. */
  readonly target: string;
  request(method: 'GET' | 'POST', path: string, options?: RequestOptions): Promise<ApiAnswer>;
}

export interface TargetOptions {
  readonly stage?: string;
  readonly region?: string;
  readonly apiUrl?: string;
}

/** Thrown for an error answer of the API: its code and message, exit code 1. */
export class ApiRefusal extends CliFailure {
  constructor(
    readonly status: number,
    code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(message, EXIT.failure, code);
  }
}

/** The answer when its status is one of `ok`, else an ApiRefusal with the API's error code and message. */
export function accepted<T = Record<string, unknown>>(answer: ApiAnswer, ...ok: number[]): T {
  if (ok.includes(answer.status)) return answer.body as T;
  const error = (answer.body as { error?: { code?: string; message?: string } } | undefined)?.error;
  throw new ApiRefusal(
    answer.status,
    error?.code ?? `HTTP_${answer.status}`,
    error?.message ?? `the API answered ${answer.status}`,
    answer.body,
  );
}

export function connect(options: TargetOptions): ApiClient {
  if (options.apiUrl) return deployedApi(options.apiUrl, options);
  if (options.stage)
    throw usage(
      `--stage ${options.stage} needs --api-url: the stack's InternalApiUrl output, e.g. $(aws cloudformation describe-stacks --stack-name Gamekeep-${options.stage} --query "Stacks[0].Outputs[?OutputKey=='InternalApiUrl'].OutputValue" --output text)`,
    );
  return localApi();
}

function localApi(): ApiClient {
  let stack: ReturnType<typeof runningStack>;
  try {
    stack = runningStack();
  } catch {
    throw new CliFailure(
      `no local stack is running (no ${stackFile}): start one with \`npm start\`, or name a deployed stage with --stage and --api-url`,
      EXIT.usage,
      'NO_LOCAL_STACK',
    );
  }
  if (!stack.apiPort)
    throw usage(`the local stack was started with GAMEKEEP_API_PORT=0: ${stackFile} does not say which port it got`);
  if (!stack.adminToken || !stack.serviceToken) throw usage(`${stackFile} has no admin and service tokens`);
  const base = `http://127.0.0.1:${stack.apiPort}`;
  const tokens: Record<CallerRole, string> = { operator: stack.adminToken, service: stack.serviceToken };
  return {
    target: `local stack ${base}`,
    async request(method, path, o = {}) {
      const url = urlOf(base, path, o.query);
      const body = o.body === undefined ? undefined : JSON.stringify(o.body);
      const headers: Record<string, string> = {
        authorization: `Bearer ${tokens[o.as ?? 'operator']}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...o.headers,
      };
      const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) }).catch(
        (error: unknown) => {
          throw unreachable(error) ? new CliFailure(STALE_STACK_HINT) : cannotReach(base, error);
        },
      );
      return answerOf(res);
    },
  };
}

function deployedApi(apiUrl: string, options: TargetOptions): ApiClient {
  let base: URL;
  try {
    base = new URL(apiUrl);
  } catch {
    throw usage(`--api-url must be a URL, got '${apiUrl}'`);
  }
  const region =
    options.region ?? /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(base.hostname)?.[1] ?? loadConfig().region;
  const signer = new SignatureV4({ service: 'execute-api', region, credentials: defaultProvider(), sha256: Sha256 });
  return {
    target: `${options.stage ? `stage ${options.stage}` : 'API'} ${base.origin}${base.pathname.replace(/\/$/, '')} (${region})`,
    async request(method, path, o = {}) {
      const url = urlOf(base.href, path, o.query);
      const body = o.body === undefined ? undefined : JSON.stringify(o.body);
      const signed = await signer.sign({
        method,
        protocol: url.protocol,
        hostname: url.hostname,
        ...(url.port ? { port: Number(url.port) } : {}),
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: {
          host: url.host,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...o.headers,
        },
        ...(body !== undefined ? { body } : {}),
      });
      // fetch sets Host itself (the same value, which the signature covers).
      const { host: _host, ...headers } = signed.headers;
      const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) }).catch(
        (error: unknown) => {
          throw cannotReach(base.origin, error);
        },
      );
      return answerOf(res);
    },
  };
}

function cannotReach(where: string, error: unknown): CliFailure {
  const cause = (error as { cause?: { message?: string } }).cause?.message;
  return new CliFailure(`cannot reach ${where}: ${(error as Error).message}${cause ? ` (${cause})` : ''}`);
}

/** `path` (starting with /v1) under the base URL, which may carry a path of its own (a custom domain's mapping). */
function urlOf(base: string, path: string, query: RequestOptions['query'] = {}): URL {
  const root = new URL(base);
  const url = new URL(`${root.pathname.replace(/\/$/, '')}${path}`, root);
  for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
  return url;
}

async function answerOf(res: Response): Promise<ApiAnswer> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers };
}

/** SHA-256 and HMAC-SHA256 for the signer, from node:crypto (the shape @smithy/signature-v4 expects). */
class Sha256 {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = this.fresh();
  }

  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
