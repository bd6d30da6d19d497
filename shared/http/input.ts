import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { z } from 'zod';
import { badRequest, HttpError } from './errors.js';

/** Bodies above this are refused with 413 before any parsing. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The raw body bytes as the caller sent them (signatures are computed over exactly these). */
export function rawBody(event: APIGatewayProxyEventV2): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  const bytes = event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
  if (bytes.length > MAX_BODY_BYTES)
    throw new HttpError(413, 'PAYLOAD_TOO_LARGE', `bodies are limited to ${MAX_BODY_BYTES} bytes`);
  return bytes;
}

/** Parses the body as JSON and then with `schema`; any failure is a 400 naming the first problem. */
export function parseBody<S extends z.ZodType>(event: APIGatewayProxyEventV2, schema: S): z.infer<S> {
  return parseWith(schema, parseJson(rawBody(event)), 'body');
}

export function parseJson(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  if (text.trim() === '') throw badRequest('INVALID_JSON', 'the body must be a JSON document');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badRequest('INVALID_JSON', 'the body is not valid JSON');
  }
}

export function parseWith<S extends z.ZodType>(
  schema: S,
  value: unknown,
  where: string,
  code = 'INVALID_REQUEST',
): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw badRequest(code, describeIssue(where, result.error));
  return result.data;
}

export function describeIssue(where: string, error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return `${where} is invalid`;
  const path = issue.path.length > 0 ? `${where}.${issue.path.map(String).join('.')}` : where;
  return `${path}: ${issue.message}`.slice(0, 300);
}

export function pathParameters(event: APIGatewayProxyEventV2): Record<string, string | undefined> {
  return event.pathParameters ?? {};
}

/** Query strings: unknown parameters are refused like unknown body fields. */
export function parseQuery<S extends z.ZodType>(event: APIGatewayProxyEventV2, schema: S): z.infer<S> {
  return parseWith(schema, event.queryStringParameters ?? {}, 'query');
}

/**
 * `Prefer: wait=N` (RFC 7240) in milliseconds, 0 without one. N must be an integer from 0 to 10 seconds: anything
 * else is refused rather than clamped, so a client never believes it waited longer than it did. Other preferences
 * are ignored, and of several waits the first counts (RFC 7240 §2).
 */
export function preferredWaitMs(event: APIGatewayProxyEventV2): number {
  // Preferences are comma-separated `name[=value]`, each with optional `;` parameters; names are case-insensitive.
  const wait = (event.headers?.prefer ?? '')
    .split(',')
    .map((preference) => (preference.split(';')[0] ?? '').split('='))
    .find(([name]) => name?.trim().toLowerCase() === 'wait');
  if (!wait) return 0;
  const seconds = wait
    .slice(1)
    .join('=')
    .trim()
    .replace(/^"(.*)"$/, '$1');
  if (!/^\d{1,2}$/.test(seconds) || Number(seconds) > 10)
    throw badRequest('INVALID_REQUEST', 'header.Prefer: wait must be an integer number of seconds from 0 to 10');
  return Number(seconds) * 1000;
}
