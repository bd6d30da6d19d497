/**
 * The console's one API client: openapi-fetch over the paths generated from docs/openapi.json (`npm run
 * console:api`), with the operator's access token on every call. Errors come back as values the pages show.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema';

/** The API as docs/openapi.json describes it (npm run console:api regenerates schema.d.ts). */
type ApiPaths = paths;

export type Api = Client<ApiPaths>;

export function apiClient(baseUrl: string, token: () => string | undefined): Api {
  const client = createClient<ApiPaths>({ baseUrl });
  client.use({
    onRequest({ request }) {
      const t = token();
      if (t) request.headers.set('authorization', `Bearer ${t}`);
      return request;
    },
  });
  return client;
}

/** A failed answer as an operator reads it: the status, the server's code and its message. */
export interface ApiFailure {
  readonly status: number;
  readonly code: string;
  readonly message: string;
}

export function failureOf(error: unknown, response: Response | undefined): ApiFailure {
  const body = (error ?? {}) as { error?: { code?: string; message?: string }; message?: string };
  return {
    status: response?.status ?? 0,
    code: body.error?.code ?? (response ? `HTTP_${response.status}` : 'NETWORK'),
    message: body.error?.message ?? body.message ?? (typeof error === 'string' ? error : 'the request failed'),
  };
}

/** Whether the server has no such route yet (the gateway's own 404, not a missing player). */
export const isMissingRoute = (f: ApiFailure): boolean => f.status === 404 && /^no route /.test(f.message);

/** A unique key per submitted form, so a retried click is the same command (Idempotency-Key). */
export const idempotencyKey = (): string => crypto.randomUUID();
