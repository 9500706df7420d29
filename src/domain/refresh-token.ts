import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Refresh tokens are opaque: `tgr_<sid>.<secret>`, the secret 256 random bits.
 * The sid makes the lookup one GetItem; only SHA-256 of the secret is stored.
 */
const PREFIX = 'tgr_';
const SID = /^[A-Za-z0-9_-]{22}$/;
const SECRET = /^[A-Za-z0-9_-]{43}$/;

export interface ParsedRefreshToken {
  sid: string;
  secretHash: string;
}

/** A new session id: 128 random bits, base64url. */
export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export function newRefreshToken(sid: string): { token: string; secretHash: string } {
  const secret = randomBytes(32).toString('base64url');
  return { token: `${PREFIX}${sid}.${secret}`, secretHash: hashSecret(secret) };
}

export function looksLikeRefreshToken(token: string): boolean {
  return token.startsWith(PREFIX);
}

/** Parses a presented refresh token; `null` when it is not one of ours. */
export function parseRefreshToken(token: string): ParsedRefreshToken | null {
  if (!token.startsWith(PREFIX)) return null;
  const [sid, secret, extra] = token.slice(PREFIX.length).split('.');
  if (extra !== undefined || !sid || !secret || !SID.test(sid) || !SECRET.test(secret)) return null;
  return { sid, secretHash: hashSecret(secret) };
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** Constant-time comparison of two hashes. */
export function sameHash(a: string | undefined, b: string): boolean {
  if (a === undefined || a.length !== b.length) return false;
  return timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** SHA-256 of a whole token, for single-use markers of tokens without `jti`. Never log the token itself. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
