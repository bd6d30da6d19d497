import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A refusal at the edge: a 4xx with a stable code; nothing has been written when one is thrown. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new HttpError(400, code, message);
export const unauthorized = (message = 'missing or invalid credentials') => new HttpError(401, 'UNAUTHORIZED', message);
export const forbidden = (message: string) => new HttpError(403, 'FORBIDDEN', message);
export const notFound = (code: string, message: string) => new HttpError(404, code, message);

/** What a function answers for a request none of its routes matches (API Gateway only sends it its own). */
export const noRoute = ({ method, path }: { method: string; path: string }): never => {
  throw notFound('NOT_FOUND', `no route ${method} ${path}`);
};

export function json(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

export function errorResponse(statusCode: number, code: string, message: string): APIGatewayProxyStructuredResultV2 {
  return json(statusCode, { error: { code, message } });
}
