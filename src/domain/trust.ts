import { matchesClaimPattern } from './glob';
import type { SessionKind } from './session';

/** A claim value a rule compares with (numbers and booleans by their string form). */
export type ClaimValue = string | number | boolean;
/** One value or glob, or a list of them (any may match). */
export type ClaimPattern = ClaimValue | readonly ClaimValue[];

/** A trust rule (`trust[].rules[]` in the config): every named claim must match; a match earns `scopes`. */
export interface TrustRule {
  /** Claim name or dot path → pattern. */
  readonly claims: Readonly<Record<string, ClaimPattern>>;
  readonly scopes: readonly string[];
}

/** A trust entry as the domain reads it (`trust[]` in the config; the schema produces it). */
export interface TrustEntry {
  readonly name: string;
  readonly issuer: string;
  readonly kind: SessionKind;
  /** The JWS algorithms accepted for this issuer's tokens. */
  readonly algorithms: readonly string[];
  readonly audiences?: readonly string[];
  readonly authorizedParties?: readonly string[];
  readonly clockToleranceSeconds: number;
  readonly rules: readonly TrustRule[];
}

/** Reads a claim by dot path (`o.rol`, `metadata.role`); `undefined` when any step is missing. */
export function readClaim(claims: Record<string, unknown>, path: string): unknown {
  let value: unknown = claims;
  for (const step of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(value, step)) return undefined;
    value = (value as Record<string, unknown>)[step];
  }
  return value;
}

/** Numbers and booleans compare by their string form; objects, null and missing claims never match. */
function claimStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'number' || typeof value === 'boolean') return [String(value)];
  if (Array.isArray(value)) return value.flatMap((item) => (Array.isArray(item) ? [] : claimStrings(item)));
  return [];
}

/** A claim matches when any of its values (an array claim has several) matches any of the patterns. */
export function claimMatches(value: unknown, pattern: ClaimPattern): boolean {
  const patterns = (Array.isArray(pattern) ? pattern : [pattern]).map(String);
  const values = claimStrings(value);
  return values.some((v) => patterns.some((p) => matchesClaimPattern(p, v)));
}

export function ruleMatches(rule: TrustRule, claims: Record<string, unknown>): boolean {
  return Object.entries(rule.claims).every(([path, pattern]) => claimMatches(readClaim(claims, path), pattern));
}

/**
 * The scopes a subject token's claims earn: the union over every matching rule,
 * in first-seen order, or `null` when no rule matches.
 */
export function grantedScopes(rules: readonly TrustRule[], claims: Record<string, unknown>): string[] | null {
  let matched = false;
  const scopes = new Set<string>();
  for (const rule of rules) {
    if (!ruleMatches(rule, claims)) continue;
    matched = true;
    for (const scope of rule.scopes) scopes.add(scope);
  }
  return matched ? [...scopes] : null;
}
