import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

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

/**
 * The session id of a single-use subject token's session, derived from its
 * single-use key (`subject#<trust>#<id>`): the session item is then the
 * single-use marker too, so one conditional put records both facts, and a
 * second exchange of the same token finds the item its first one wrote.
 * 128 bits of SHA-256, base64url, the same shape as a random sid. Not a
 * secret (sids are in every token and log line); it reveals only that the
 * session came from that subject token.
 */
export function singleUseSessionId(singleUseKey: string): string {
  return createHash('sha256').update(`tollgate/single-use-sid/v1\0${singleUseKey}`).digest().subarray(0, 16).toString('base64url');
}

/** A per-request write id: stored on the item a conditional write changes, so a retry that finds it knows the write was its own. */
export function newWriteId(): string {
  return randomBytes(12).toString('base64url');
}

/*
 * Rotation grace (RFC 9700 §4.14.2 leaves the policy to us): the successor of
 * a refresh token is stored encrypted under a key that only the presented
 * (now previous) token yields, so a retry with that token within the grace
 * window gets THE SAME successor back, and nothing in the store is a usable
 * token. Key = HMAC-SHA256(previous secret, label ‖ sid): the store holds
 * SHA-256(previous secret), which does not give the HMAC. AES-256-GCM, a
 * random 96-bit nonce, the sid as associated data. docs/security.md
 * ("Rotation grace") has the threat model.
 */
const BOX_LABEL = 'tollgate/refresh-successor/v1';
const BOX_VERSION = 'v1';

function boxKey(presented: { sid: string; secret: string }): Buffer {
  return createHmac('sha256', Buffer.from(presented.secret, 'base64url')).update(`${BOX_LABEL}\0${presented.sid}`).digest();
}

function splitToken(token: string): { sid: string; secret: string } | null {
  if (!parseRefreshToken(token)) return null;
  const [sid, secret] = token.slice(PREFIX.length).split('.') as [string, string];
  return { sid, secret };
}

/** Seals `successor` (a refresh token of the same session) under a key derived from `presented`; `v1.<nonce>.<ciphertext+tag>`. */
export function sealSuccessor(presented: string, successor: string): string {
  const from = splitToken(presented);
  const to = splitToken(successor);
  if (!from || !to || from.sid !== to.sid) throw new Error('sealSuccessor: two refresh tokens of one session expected');
  const nonce = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', boxKey(from), nonce);
  cipher.setAAD(Buffer.from(from.sid));
  const sealed = Buffer.concat([cipher.update(Buffer.from(to.secret, 'base64url')), cipher.final(), cipher.getAuthTag()]);
  return `${BOX_VERSION}.${nonce.toString('base64url')}.${sealed.toString('base64url')}`;
}

/** The successor refresh token sealed by `sealSuccessor(presented, …)`; `undefined` when `box` was not sealed for `presented`. */
export function openSuccessor(presented: string, box: string | undefined): string | undefined {
  const from = splitToken(presented);
  const [version, nonce, sealed, extra] = (box ?? '').split('.');
  if (!from || version !== BOX_VERSION || !nonce || !sealed || extra !== undefined) return undefined;
  const bytes = Buffer.from(sealed, 'base64url');
  if (bytes.length !== 32 + 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', boxKey(from), Buffer.from(nonce, 'base64url'));
    decipher.setAAD(Buffer.from(from.sid));
    decipher.setAuthTag(bytes.subarray(32));
    const secret = Buffer.concat([decipher.update(bytes.subarray(0, 32)), decipher.final()]).toString('base64url');
    return `${PREFIX}${from.sid}.${secret}`;
  } catch {
    return undefined;
  }
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
