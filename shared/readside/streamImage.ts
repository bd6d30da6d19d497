import type { AttributeValue } from 'aws-lambda';

/**
 * Decodes a stream record image (DynamoDB JSON) into a plain object. The table holds only what the document
 * client wrote: strings, numbers, booleans, null, maps and lists (sets are decoded to arrays for completeness).
 */
export function fromStreamImage(image: Record<string, AttributeValue>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(image).map(([k, v]) => [k, decode(v)]));
}

function decode(v: AttributeValue): unknown {
  if (v.S !== undefined) return v.S;
  if (v.N !== undefined) return Number(v.N);
  if (v.BOOL !== undefined) return v.BOOL;
  if (v.NULL !== undefined) return null;
  if (v.M !== undefined) return fromStreamImage(v.M);
  if (v.L !== undefined) return v.L.map(decode);
  if (v.SS !== undefined) return [...v.SS];
  if (v.NS !== undefined) return v.NS.map(Number);
  if (v.B !== undefined) return v.B;
  if (v.BS !== undefined) return [...v.BS];
  throw new Error(`unsupported attribute value ${JSON.stringify(v)}`);
}
