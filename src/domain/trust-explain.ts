import { claimMatches, grantedScopes, readClaim, type TrustEntry } from './trust';

/** One condition of a trust rule: the claim, its patterns, what the token holds, and whether it matched. */
export interface ConditionOutcome {
  claim: string;
  patterns: (string | number | boolean)[];
  /** The token's value at that path (claim values are identity data, never the token). */
  actual: unknown;
  held: boolean;
}

export interface RuleOutcome {
  index: number;
  matched: boolean;
  scopes: string[];
  conditions: ConditionOutcome[];
}

/** A check the verifier makes before any rule (issuer, algorithm, audience, authorized party, expiry, subject). */
export interface CheckOutcome {
  check: string;
  held: boolean;
  detail: string;
}

export interface TrustOutcome {
  trust: string;
  kind: string;
  checks: CheckOutcome[];
  rules: RuleOutcome[];
  /** Scopes the token would get from this entry (every matching rule's), or null when no rule matches. */
  scopes: string[] | null;
  /** True when every check held and a rule matched. */
  accepted: boolean;
}

export interface Explanation {
  issuer: string | null;
  /** Every trust entry with the token's issuer, in config order (the verifier tries them in this order). */
  entries: TrustOutcome[];
  /** The entry Tollgate would use: the first whose checks hold (then its rules decide), or null. */
  chosen: string | null;
  /** The scopes an exchange would grant (before any narrowing by the client's `scope`), or null when it would be refused. */
  scopes: string[] | null;
}

/**
 * What Tollgate would decide for an identity token under `config`, from its
 * decoded header and claims alone: which trust entries have its issuer, which
 * of the verifier's checks hold (algorithm, audience, authorized party,
 * expiry at `now` with the entry's clock tolerance, subject, Clerk's pending
 * session), and for each rule which conditions held. The verifier uses the
 * first entry whose checks hold; its matching rules' scopes are the grant.
 *
 * What this does NOT check: the signature (it needs the issuer's keys, and
 * this runs offline), single use, rate limits, or whether a webhook ended the
 * upstream session. Pure: the caller decodes the token.
 */
export function explainToken(config: { readonly trust: readonly TrustEntry[] }, header: Record<string, unknown>, claims: Record<string, unknown>, now: number): Explanation {
  const issuer = typeof claims.iss === 'string' ? claims.iss : null;
  const entries = config.trust.filter((trust) => trust.issuer === issuer).map((trust) => explainEntry(trust, header, claims, now));
  const chosen = entries.find((entry) => entry.checks.every((check) => check.held)) ?? null;
  return { issuer, entries, chosen: chosen?.trust ?? null, scopes: chosen?.accepted ? chosen.scopes : null };
}

function explainEntry(trust: TrustEntry, header: Record<string, unknown>, claims: Record<string, unknown>, now: number): TrustOutcome {
  const rules: RuleOutcome[] = trust.rules.map((rule, index) => {
    const conditions = Object.entries(rule.claims).map(([claim, pattern]) => {
      const actual = readClaim(claims, claim);
      return { claim, patterns: (Array.isArray(pattern) ? pattern : [pattern]) as (string | number | boolean)[], actual: actual ?? null, held: claimMatches(actual, pattern) };
    });
    return { index, matched: conditions.every((condition) => condition.held), scopes: [...rule.scopes], conditions };
  });
  const checks = entryChecks(trust, header, claims, now);
  const scopes = grantedScopes(trust.rules, claims);
  return { trust: trust.name, kind: trust.kind, checks, rules, scopes, accepted: checks.every((check) => check.held) && scopes !== null };
}

function entryChecks(trust: TrustEntry, header: Record<string, unknown>, claims: Record<string, unknown>, now: number): CheckOutcome[] {
  const checks: CheckOutcome[] = [];
  const alg = typeof header.alg === 'string' ? header.alg : '(none)';
  checks.push({ check: 'algorithm', held: (trust.algorithms as readonly string[]).includes(alg), detail: `${alg}; allowed: ${trust.algorithms.join(', ')}` });

  const aud = claims.aud;
  const audiences = aud === undefined ? [] : Array.isArray(aud) ? aud.map(String) : [String(aud)];
  if (trust.audiences) {
    checks.push({
      check: 'audience',
      held: audiences.some((value) => trust.audiences!.includes(value)),
      detail: `${audiences.length ? audiences.join(', ') : '(no aud)'}; accepted: ${trust.audiences.join(', ')}`,
    });
  } else {
    checks.push({ check: 'audience', held: aud === undefined, detail: aud === undefined ? 'no aud, as this entry (without audiences) requires' : `aud ${audiences.join(', ')}, but the entry lists no audiences` });
  }
  if (trust.authorizedParties) {
    const azp = claims.azp;
    checks.push({
      check: 'authorized party',
      held: azp === undefined || trust.authorizedParties.includes(String(azp)),
      detail: `${azp === undefined ? '(no azp)' : String(azp)}; allowed: ${trust.authorizedParties.join(', ')}`,
    });
  }
  const exp = claims.exp;
  const tolerance = trust.clockToleranceSeconds;
  checks.push({
    check: 'expiry',
    held: typeof exp === 'number' && exp + tolerance > now,
    detail: typeof exp !== 'number' ? 'no exp' : exp + tolerance > now ? `valid until ${iso(exp)} (+${tolerance} s tolerance)` : `expired at ${iso(exp)}`,
  });
  if (typeof claims.nbf === 'number' || typeof claims.iat === 'number') {
    const start = Math.max(typeof claims.nbf === 'number' ? claims.nbf : -Infinity, typeof claims.iat === 'number' ? claims.iat : -Infinity);
    checks.push({ check: 'not before', held: start <= now + tolerance, detail: start <= now + tolerance ? `since ${iso(start)}` : `not valid before ${iso(start)}` });
  }
  checks.push({ check: 'subject', held: typeof claims.sub === 'string' && claims.sub !== '', detail: typeof claims.sub === 'string' && claims.sub !== '' ? `sub ${claims.sub}` : 'no sub' });
  if (claims.sts === 'pending') checks.push({ check: 'session', held: false, detail: 'sts "pending": the Clerk session is not complete' });
  return checks;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
