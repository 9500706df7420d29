import { GetSecretValueCommand, type SecretsManagerClient } from './aws-secrets-manager';
import { SECRET_REF } from '../config/config-rules';
import type { Clock } from '../domain/clock';
import { UnavailableError } from '../domain/errors';
import type { SecretResolver } from '../ports/secret-resolver';

/** How long a resolved value is used before it is read again (a rotation is picked up within this time). */
export const SECRET_CACHE_MS = 300_000;

/** Header-safe: no control characters except tab (RFC 9110 §5.5), so a secret can never split a header. */
const USABLE_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f]+$/;

export type ParsedSecretRef =
  | { source: 'env'; name: string }
  | { source: 'aws-secretsmanager'; secretId: string; jsonKey?: string };

/** Parses a secret ref; `null` when it is not one (the config schema already rejects those). */
export function parseSecretRef(ref: string): ParsedSecretRef | null {
  if (!SECRET_REF.test(ref)) return null;
  if (ref.startsWith('env:')) return { source: 'env', name: ref.slice('env:'.length) };
  const rest = ref.slice('aws-secretsmanager:'.length);
  const hash = rest.indexOf('#');
  return hash === -1
    ? { source: 'aws-secretsmanager', secretId: rest }
    : { source: 'aws-secretsmanager', secretId: rest.slice(0, hash), jsonKey: rest.slice(hash + 1) };
}

export interface SecretRefsOptions {
  /** Where `env:NAME` refs are read (the process environment, passed in by the composition root). */
  env: Record<string, string | undefined>;
  /** Built on first use, so functions whose config names no Secrets Manager ref never create one. */
  secretsManager: () => SecretsManagerClient;
  clock: Clock;
  /** @default SECRET_CACHE_MS */
  cacheMs?: number;
}

/**
 * Resolves `env:NAME` and `aws-secretsmanager:<secret id>[#<json key>]` refs
 * (the current version, `AWSCURRENT`). Values are cached for `cacheMs`;
 * concurrent callers share one read. A failed read is never cached: the next
 * request reads again, and meanwhile the last good value (if any) keeps
 * serving, so a Secrets Manager blip does not take the proxy down.
 *
 * Does not check that the value is the right credential: only that it exists,
 * is a string, and is safe to put in a header.
 */
export class SecretRefs implements SecretResolver {
  private readonly cache = new Map<string, { value: string; readAt: number }>();
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly cacheMs: number;

  constructor(private readonly options: SecretRefsOptions) {
    this.cacheMs = options.cacheMs ?? SECRET_CACHE_MS;
  }

  async resolve(ref: string): Promise<string> {
    const hit = this.cache.get(ref);
    if (hit && this.options.clock.now() - hit.readAt < this.cacheMs) return hit.value;
    let pending = this.inflight.get(ref);
    if (!pending) {
      pending = this.read(ref).finally(() => this.inflight.delete(ref));
      this.inflight.set(ref, pending);
    }
    return pending;
  }

  private async read(ref: string): Promise<string> {
    let value: string;
    try {
      value = await this.readValue(ref);
    } catch (error) {
      const stale = this.cache.get(ref);
      if (stale) return stale.value;
      throw error instanceof UnavailableError ? error : new UnavailableError('secrets', error, 1);
    }
    this.cache.set(ref, { value, readAt: this.options.clock.now() });
    return value;
  }

  private async readValue(ref: string): Promise<string> {
    const parsed = parseSecretRef(ref);
    if (!parsed) throw unusable('not a secret ref');
    let value: unknown;
    if (parsed.source === 'env') {
      value = this.options.env[parsed.name];
      if (value === undefined || value === '') throw unusable(`environment variable ${parsed.name} is not set`);
    } else {
      const result = await this.options.secretsManager().send(new GetSecretValueCommand({ SecretId: parsed.secretId }));
      if (typeof result.SecretString !== 'string') throw unusable(`secret ${parsed.secretId} has no string value`);
      value = result.SecretString;
      if (parsed.jsonKey !== undefined) value = jsonMember(result.SecretString, parsed.jsonKey, parsed.secretId);
    }
    if (typeof value !== 'string' || !USABLE_VALUE.test(value)) throw unusable('secret value is empty or contains control characters');
    return value;
  }
}

function jsonMember(text: string, key: string, secretId: string): unknown {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw unusable(`secret ${secretId} is not JSON, so #${key} cannot be read`);
  }
  if (!document || typeof document !== 'object' || !Object.prototype.hasOwnProperty.call(document, key)) {
    throw unusable(`secret ${secretId} has no member ${key}`);
  }
  const member = (document as Record<string, unknown>)[key];
  return typeof member === 'number' ? String(member) : member;
}

/** An operator's mistake (missing variable, wrong key): 503 with a longer Retry-After, the reason in the log only. */
function unusable(detail: string): UnavailableError {
  return new UnavailableError('secrets', new Error(detail), 5);
}
