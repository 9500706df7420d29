import { OAuthError } from '../domain/errors';
import { bodyBytes, header, type HttpEvent } from './api-event';

/** Largest body the token, verify and revoke endpoints read (a 16 KB token plus parameters). */
export const MAX_FORM_BODY_BYTES = 32 * 1024;
/** Most parameters one request may carry. */
const MAX_PARAMETERS = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** For percent-decoded names and values: a leading U+FEFF there is content, not a byte order mark. */
const utf8Component = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function invalid(description: string, detail?: string): OAuthError {
  return new OAuthError('invalid_request', description, { reason: 'malformed', detail: detail ?? description });
}

/**
 * Reads the parameters of an OAuth endpoint: `application/x-www-form-urlencoded`
 * (RFC 6749 §3.2) or, as a convenience, a flat `application/json` object of
 * strings. Enforces what the RFCs require of untrusted input: a size limit,
 * valid UTF-8, no parameter twice (§3.2), no CR/LF or NUL in values, and empty
 * values treated as omitted (§3.1).
 */
export function readParameters(event: HttpEvent): Map<string, string> {
  if ((event.httpMethod ?? 'POST').toUpperCase() !== 'POST') {
    throw new OAuthError('invalid_request', 'use POST', { status: 405, headers: { Allow: 'POST' } });
  }
  const contentType = (header(event, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const bytes = bodyBytes(event);
  if (bytes.length > MAX_FORM_BODY_BYTES) throw invalid('request body is too large');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw invalid('request body is not valid UTF-8');
  }

  let pairs: [string, string][];
  if (contentType === 'application/x-www-form-urlencoded') {
    pairs = formPairs(text);
  } else if (contentType === 'application/json') {
    pairs = jsonPairs(text);
  } else {
    throw invalid('content type must be application/x-www-form-urlencoded or application/json');
  }
  if (pairs.length > MAX_PARAMETERS) throw invalid('too many parameters');

  const seen = new Set<string>();
  const parameters = new Map<string, string>();
  for (const [name, value] of pairs) {
    if (/[\r\n\0]/.test(value) || /[\r\n\0]/.test(name)) throw invalid(`parameter ${safeName(name)} contains control characters`);
    if (seen.has(name)) throw invalid(`parameter ${safeName(name)} is repeated`);
    seen.add(name);
    if (value !== '') parameters.set(name, value);
  }
  return parameters;
}

/**
 * `application/x-www-form-urlencoded` as the WHATWG URL standard parses it,
 * except that a percent-encoded sequence that is not UTF-8 (RFC 6749
 * Appendix B) is an error instead of silently becoming U+FFFD.
 */
function formPairs(text: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    let name: string;
    try {
      name = percentDecode(eq === -1 ? part : part.slice(0, eq));
    } catch {
      throw invalid('parameter (unnamed) is not valid UTF-8');
    }
    try {
      pairs.push([name, percentDecode(eq === -1 ? '' : part.slice(eq + 1))]);
    } catch {
      throw invalid(`parameter ${safeName(name)} is not valid UTF-8`);
    }
  }
  return pairs;
}

/** `+` is a space; `%XX` is a byte; a `%` not followed by two hex digits stays literal. Throws on bytes that are not UTF-8. */
function percentDecode(component: string): string {
  const text = component.replace(/\+/g, ' ');
  if (!text.includes('%')) return text;
  const input = Buffer.from(text, 'utf8');
  const output = Buffer.alloc(input.length);
  let length = 0;
  for (let i = 0; i < input.length; i++) {
    const hex = input[i] === 0x25 && i + 2 < input.length ? input.toString('latin1', i + 1, i + 3) : '';
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      output[length++] = parseInt(hex, 16);
      i += 2;
    } else {
      output[length++] = input[i]!;
    }
  }
  return utf8Component.decode(output.subarray(0, length));
}

function jsonPairs(text: string): [string, string][] {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw invalid('request body is not valid JSON');
  }
  if (!document || typeof document !== 'object' || Array.isArray(document)) throw invalid('JSON body must be an object');
  // JSON.parse keeps the last of repeated members; a repeat is refused as in a form (RFC 6749 §3.2), so no
  // two parsers on the way can disagree about which value counted.
  const names = new Set<string>();
  for (const name of topLevelNames(text)) {
    if (names.has(name)) throw invalid(`parameter ${safeName(name)} is repeated`);
    names.add(name);
  }
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(document)) {
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') throw invalid(`parameter ${safeName(name)} must be a string`);
    pairs.push([name, value]);
  }
  return pairs;
}

/** The member names of a valid JSON text's top-level object, in order, repeats included. */
function topLevelNames(text: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectName) names.push(JSON.parse(text.slice(i, end + 1)) as string);
      expectName = false;
      i = end;
    } else if (c === '{' || c === '[') {
      depth++;
      expectName = depth === 1 && c === '{';
    } else if (c === '}' || c === ']') {
      depth--;
    } else if (c === ',' && depth === 1) {
      expectName = true;
    }
  }
  return names;
}

/** Parameter names are echoed in descriptions only when they are short and plain. */
function safeName(name: string): string {
  return /^[a-z_]{1,40}$/.test(name) ? name : '(unnamed)';
}

/** A required parameter, or `invalid_request`. */
export function required(parameters: Map<string, string>, name: string): string {
  const value = parameters.get(name);
  if (value === undefined) throw invalid(`missing ${name}`);
  return value;
}
