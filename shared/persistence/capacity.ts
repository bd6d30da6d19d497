/**
 * Write capacity AWS bills for an item, by its published rules: one WCU per started KB for a standard write,
 * two for a write inside a transaction. DynamoDB Local does not report transactional capacity faithfully, so
 * the benchmarks print this estimate beside what the stand-in reports.
 */
export function writeCapacityUnits(item: Record<string, unknown>, transactional: boolean): number {
  return Math.max(1, Math.ceil(itemSize(item) / 1024)) * (transactional ? 2 : 1);
}

/** Item size as DynamoDB counts it: attribute names plus values (numbers ~1 byte per 2 digits, 3 bytes per map/list element). */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item))
    if (value !== undefined) size += Buffer.byteLength(name) + valueSize(value);
  return size;
}

function valueSize(value: unknown): number {
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'number')
    return (
      Math.ceil(
        String(Math.abs(value))
          .replace(/^0\.|\./, '')
          .replace(/^0+/, '').length / 2,
      ) + 1
    );
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (Array.isArray(value)) return 3 + value.reduce<number>((s, v) => s + 1 + valueSize(v), 0);
  if (typeof value === 'object')
    return 3 + itemSize(value as Record<string, unknown>) + Object.keys(value as object).length;
  return 0;
}
