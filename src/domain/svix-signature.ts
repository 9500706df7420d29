import { createHmac, timingSafeEqual } from 'node:crypto';
import { UnavailableError } from './errors';
import { WebhookError } from './webhook-error';

/** Svix's own tolerance: a delivery signed more than 5 minutes before (or after) now is refused. */
export const SVIX_TOLERANCE_SECONDS = 300;

/** Longest `svix-signature` header read (Svix sends one signature per active secret, a handful at most). */
const MAX_SIGNATURE_HEADER = 4096;

/** The three Svix headers and the exact body bytes of one delivery. */
export interface SvixDelivery {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
  body: Uint8Array;
}

/** A delivery whose headers were checked for shape. */
export interface SvixHeaders {
  id: string;
  /** Epoch seconds. */
  timestamp: number;
  /** The header as sent: what was signed ("0017…" and "17…" differ). */
  timestampText: string;
  signatures: Buffer[];
}

/**
 * Decodes the configured signing secret: one `whsec_<base64>` value (Clerk's
 * dashboard shows it), or several separated by white space while you rotate
 * it. A value that is not one is an operator's mistake: 503 (Svix retries
 * later) with the reason in the log, never a 500 or a silent accept.
 */
export function parseSigningSecrets(value: string): Buffer[] {
  const secrets = value
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((entry) => {
      const encoded = entry.startsWith('whsec_') ? entry.slice('whsec_'.length) : entry;
      const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) ? Buffer.from(encoded, 'base64') : Buffer.alloc(0);
      // Svix secrets are 24 to 64 random bytes; anything shorter is not one.
      if (bytes.length < 16) throw new UnavailableError('secrets', new Error('webhooks.clerk.signingSecret is not a whsec_ secret'), 5);
      return bytes;
    });
  if (secrets.length === 0) throw new UnavailableError('secrets', new Error('webhooks.clerk.signingSecret is empty'), 5);
  return secrets;
}

/** Checks the Svix headers' presence and shape (not yet the signature). */
export function parseSvixHeaders(delivery: SvixDelivery): SvixHeaders {
  const { id, timestamp, signature } = delivery;
  if (id === undefined || timestamp === undefined || signature === undefined) {
    throw new WebhookError('unsigned', `missing ${[id === undefined && 'svix-id', timestamp === undefined && 'svix-timestamp', signature === undefined && 'svix-signature'].filter(Boolean).join(', ')}`);
  }
  // The id is part of the signed content and of the replay key: printable ASCII, no spaces.
  if (!/^[\x21-\x7e]{1,256}$/.test(id)) throw new WebhookError('malformed_headers', 'svix-id is not 1-256 printable characters');
  if (!/^\d{1,12}$/.test(timestamp)) throw new WebhookError('malformed_headers', 'svix-timestamp is not epoch seconds');
  if (signature.length > MAX_SIGNATURE_HEADER) throw new WebhookError('malformed_headers', 'svix-signature is too long');
  const signatures: Buffer[] = [];
  for (const entry of signature.trim().split(/\s+/)) {
    const comma = entry.indexOf(',');
    if (comma <= 0) throw new WebhookError('malformed_headers', 'svix-signature entry is not <version>,<signature>');
    // Other versions (v1a: asymmetric) are skipped, as Svix's own libraries do.
    if (entry.slice(0, comma) !== 'v1') continue;
    const encoded = entry.slice(comma + 1);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) throw new WebhookError('malformed_headers', 'svix-signature v1 entry is not base64');
    signatures.push(Buffer.from(encoded, 'base64'));
  }
  if (signatures.length === 0) throw new WebhookError('bad_signature', 'no v1 signature listed');
  return { id, timestamp: Number(timestamp), timestampText: timestamp, signatures };
}

/** Svix's v1 signature: HMAC-SHA256 over `<svix-id>.<svix-timestamp>.<body bytes>`. */
export function svixSignature(secret: Buffer, id: string, timestamp: string, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${id}.${timestamp}.`).update(body).digest();
}

/**
 * Verifies one Svix delivery: the headers' shape, the timestamp within
 * `SVIX_TOLERANCE_SECONDS` of `nowSeconds` (either way), and at least one
 * listed `v1` signature equal to the HMAC of the exact body bytes under one
 * of `secrets`. Every listed signature is compared with every secret, each in
 * constant time. Throws `WebhookError`; returns the checked headers.
 *
 * Does not check replays: the caller remembers `id` (a replayed delivery
 * within the tolerance carries a valid signature).
 */
export function verifySvixDelivery(delivery: SvixDelivery, secrets: readonly Buffer[], nowSeconds: number): SvixHeaders {
  const headers = parseSvixHeaders(delivery);
  if (Math.abs(nowSeconds - headers.timestamp) > SVIX_TOLERANCE_SECONDS) {
    throw new WebhookError('stale', `svix-timestamp is ${nowSeconds - headers.timestamp} s from now`);
  }
  let matched = false;
  for (const secret of secrets) {
    const expected = svixSignature(secret, headers.id, headers.timestampText, delivery.body);
    for (const candidate of headers.signatures) {
      // timingSafeEqual needs equal lengths; a wrong length is simply not a match.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
    }
  }
  if (!matched) throw new WebhookError('bad_signature', `none of ${headers.signatures.length} v1 signatures matched`);
  return headers;
}
