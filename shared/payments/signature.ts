import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signature's timestamp may be from now: older deliveries are replays to refuse. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * Verifies `Gamekeep-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, the HMAC-SHA256 of `<t>.<raw body>`.
 * Any v1 may match any of the provider's secrets (rotation), compared in constant time.
 */
export function verifySignature(
  header: string | undefined,
  rawBody: Buffer,
  secrets: readonly string[],
  nowSeconds: number,
): boolean {
  if (!header || secrets.length === 0) return false;
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return false;
  if (Math.abs(nowSeconds - timestamp) > SIGNATURE_TOLERANCE_SECONDS) return false;
  let valid = false;
  for (const secret of secrets) {
    const expected = signatureOf(secret, timestamp, rawBody);
    // Every comparison runs, so timing says nothing about which secret or signature matched.
    for (const given of signatures) valid = timingSafeEqual(given, expected) || valid;
  }
  return valid;
}

export function signatureOf(secret: string, timestamp: number, rawBody: Buffer): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

/** The header a provider (or a test) sends: one v1 per secret it signs with. */
export function signatureHeader(
  secrets: readonly string[],
  rawBody: Buffer | string,
  timestamp = Math.floor(Date.now() / 1000),
): string {
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : rawBody;
  return [`t=${timestamp}`, ...secrets.map((s) => `v1=${signatureOf(s, timestamp, body).toString('hex')}`)].join(',');
}
