import { ProxyError } from './errors';

/** Longest proxied path accepted (API Gateway's own URL limit is 8 KB). */
export const MAX_PROXY_PATH_LENGTH = 4096;

/**
 * Characters a path segment may carry raw: RFC 3986 §3.3 `pchar` (unreserved,
 * sub-delims, `:` and `@`) and `%` of a percent-encoding, minus `;`.
 */
const RAW_SEGMENT = /^[A-Za-z0-9\-._~!$&'()*+,=:@%]+$/;

/** RFC 3986 §2.3 unreserved characters: their percent-encodings are decoded (§6.2.2.2 normalization). */
const UNRESERVED = /^[A-Za-z0-9\-_~]$/;

/**
 * Byte values that may not appear percent-encoded: `/` and `.` (they would
 * make segments or dot-segments after decoding), `\` (a separator on some
 * servers), `%` (double encoding: `%252e` is `%2e` after one decoding), `;`
 * (matrix parameters: servlet containers strip `;…` from a segment, so
 * `/admin;x/` would slip past a rule for `/admin/**`), NUL and the other
 * control characters.
 */
function forbiddenByte(byte: number): boolean {
  return byte === 0x2f || byte === 0x2e || byte === 0x5c || byte === 0x25 || byte === 0x3b || byte < 0x20 || byte === 0x7f;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function refuse(detail: string): ProxyError {
  return new ProxyError('INVALID_PATH', { detail });
}

/**
 * Path hygiene, run on the raw (still percent-encoded) path after `/proxy/`
 * before anything else reads it. Refuses, with 400 `invalid_request`:
 * - empty segments (`a//b`, a leading or trailing `/`), `.` and `..` segments;
 * - `%2F`, `%2E`, `%5C`, `%25`, `%3B` in any case (encoded slash, dot,
 *   backslash, percent, semicolon), raw `\` and `;`;
 * - NUL and control characters, raw or encoded, and any raw character outside
 *   RFC 3986 `pchar`;
 * - malformed percent-encodings and encodings that are not valid UTF-8
 *   (overlong `%C0%AE` is a dot to some decoders);
 * - segments whose Unicode compatibility form (NFKC) is `.`/`..` or contains
 *   `/` or `\` (fullwidth `．．`, `／`), for upstreams that normalize.
 *
 * Returns the canonical path (`/a/b`) that route rules match and the upstream
 * receives: encodings of unreserved characters decoded (`%7E` → `~`), other
 * encodings upper-cased (`%c3%a9` → `%C3%A9`), everything else as sent. So
 * the rules and the upstream see one and the same string.
 *
 * Does not: decide case (paths stay case-sensitive, RFC 3986 §6.2.2.1) or
 * look at the query string.
 */
export function canonicalProxyPath(rawPath: string): string {
  if (rawPath.length === 0) throw refuse('empty path');
  if (rawPath.length > MAX_PROXY_PATH_LENGTH) throw refuse('path too long');
  const segments = rawPath.split('/');
  return '/' + segments.map(canonicalSegment).join('/');
}

function canonicalSegment(raw: string): string {
  if (raw === '') throw refuse('empty segment');
  if (!RAW_SEGMENT.test(raw)) throw refuse('character outside RFC 3986 pchar');
  if (raw === '.' || raw === '..') throw refuse('dot segment');

  const bytes: number[] = [];
  let canonical = '';
  for (let i = 0; i < raw.length; i++) {
    const char = raw[i]!;
    if (char !== '%') {
      bytes.push(char.charCodeAt(0));
      canonical += char;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw refuse('malformed percent-encoding');
    const byte = parseInt(hex, 16);
    if (forbiddenByte(byte)) throw refuse(`forbidden encoded byte %${hex.toUpperCase()}`);
    bytes.push(byte);
    const decoded = String.fromCharCode(byte);
    canonical += byte < 0x80 && UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }

  let text: string;
  try {
    text = utf8.decode(Uint8Array.from(bytes));
  } catch {
    throw refuse('encoded bytes are not UTF-8');
  }
  if (/\p{Cc}/u.test(text)) throw refuse('control character');
  const compatible = text.normalize('NFKC');
  if (compatible === '.' || compatible === '..' || /[/\\;%]/.test(compatible) || /\p{Cc}/u.test(compatible)) {
    throw refuse('segment normalizes to a separator or dot segment');
  }
  return canonical;
}
