import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openApiDocument, undocumentedRoutes } from '../../../shared/http/openapi.js';
import { routes } from '../../../shared/http/routes.js';

describe('the OpenAPI document', () => {
  it('is committed under docs/ exactly as generated from the schemas (npm run openapi)', () => {
    expect(JSON.parse(readFileSync('docs/openapi.json', 'utf8'))).toEqual(openApiDocument());
  });

  it('is OpenAPI 3.1 and documents every route with its error shape', () => {
    const doc = openApiDocument() as {
      openapi: string;
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(undocumentedRoutes()).toEqual([]);
    for (const r of routes)
      expect(doc.paths[r.path]?.[r.method.toLowerCase()]?.responses, `${r.method} ${r.path}`).toBeDefined();
    const submit = doc.paths['/v1/players/{playerId}/commands']!.post as unknown as {
      requestBody: { content: { 'application/json': { schema: { oneOf: { additionalProperties: boolean }[] } } } };
    };
    // Unknown fields are refused, and the document says so.
    expect(
      submit.requestBody.content['application/json'].schema.oneOf.every((s) => s.additionalProperties === false),
    ).toBe(true);
  });
});
