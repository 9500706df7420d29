import type { TollgateConfig } from '../config/config';
import { systemClock, type Clock } from '../domain/clock';
import { IssuerKeys } from '../adapters/issuer-keys';
import type { RateLimiter } from '../ports/rate-limiter';
import type { ReplayGuard } from '../ports/replay-guard';
import type { SecretResolver } from '../ports/secret-resolver';
import type { SessionStore } from '../ports/session-store';
import type { SigningKeySource } from '../ports/signing-keys';
import type { Telemetry } from '../ports/telemetry';
import { AccessTokens } from '../services/access-tokens';
import { IntrospectionService } from '../services/introspection-service';
import { RevocationService } from '../services/revocation-service';
import { SessionGate } from '../services/session-gate';
import { TokenService } from '../services/token-service';
import { RateLimitedSubjectTokenVerifier } from '../services/rate-limited-subject-token-verifier';
import { HttpUpstream } from '../adapters/http-upstream';
import { ProxyService } from '../services/proxy-service';
import { createUpstreamCredential } from '../services/upstream-credentials';
import { DpopProofVerifier } from '../domain/dpop-proof';
import { DpopNonces } from '../services/dpop-nonces';

/** Everything the services need from outside: adapters for the ports, the clock, fetch. */
export interface ServiceDeps {
  config: TollgateConfig;
  /** The resolved issuer: `config.issuer`, else the public base URL. */
  issuer: string;
  sessions: SessionStore;
  replay: ReplayGuard;
  signingKeys: SigningKeySource;
  telemetry: Telemetry;
  clock?: Clock;
  /** Used for issuers' discovery and JWKS and the upstream's token endpoint (tests pass one bound to loopback servers). */
  fetch?: typeof fetch;
  /** Shared counters for the proxy's and `/token`'s rate limits (DynamoDB guards table). */
  rateLimiter: RateLimiter;
  /** Resolves the proxy's upstream credential refs; required when `proxy.upstreamAuth` is set. */
  secrets?: SecretResolver;
}

export interface Services {
  config: TollgateConfig;
  issuer: string;
  clock: Clock;
  signingKeys: SigningKeySource;
  accessTokens: AccessTokens;
  tokens: TokenService;
  gate: SessionGate;
  introspection: IntrospectionService;
  revocation: RevocationService;
  telemetry: Telemetry;
  sessions: SessionStore;
  replay: ReplayGuard;
  rateLimiter: RateLimiter;
  /** RFC 9449 proof checks for `/token` and the proxy (jti markers in the replay guard). */
  dpop: DpopProofVerifier;
  /** Server nonces, when `dpop.nonce` is on. */
  dpopNonces?: DpopNonces;
  /** The bearer-validated proxy; absent when the config has no `proxy`. */
  proxy?: ProxyService;
}

/**
 * What each function's handler uses. A Lambda entry module builds only its
 * own (`src/app/compose-*.ts`), so its bundle carries only the services
 * its routes serve; the local server builds `Services` (every route) and hands
 * the same object to every handler.
 */
export type MetadataServices = Pick<Services, 'config' | 'issuer' | 'signingKeys'>;
export type VerifyServices = Pick<Services, 'introspection'>;
export type RevokeServices = Pick<Services, 'config' | 'revocation' | 'gate'>;
export type TokenServices = Pick<Services, 'config' | 'tokens' | 'dpopNonces' | 'rateLimiter' | 'telemetry'>;
export type ProxyServices = Pick<Services, 'config' | 'proxy' | 'telemetry'>;

/** The collaborators every token-checking service starts from. */
type KeyDeps = Pick<ServiceDeps, 'config' | 'issuer' | 'signingKeys' | 'clock'>;
type SessionDeps = KeyDeps & Pick<ServiceDeps, 'sessions'>;

function accessTokensFor(deps: KeyDeps, clock: Clock): AccessTokens {
  return new AccessTokens(deps.signingKeys, clock, deps.issuer, deps.config.audience, deps.config.accessTokenTtlSeconds);
}

function sessionGateFor(deps: SessionDeps, accessTokens: AccessTokens, clock: Clock): SessionGate {
  return new SessionGate(
    accessTokens,
    deps.sessions,
    clock,
    deps.config.proxy?.sessionCacheSeconds ?? 5,
    new Set(deps.config.trust.map((trust) => trust.name)),
  );
}

function dpopFor(deps: KeyDeps & Pick<ServiceDeps, 'replay'>, clock: Clock): { dpop: DpopProofVerifier; dpopNonces?: DpopNonces } {
  const { config } = deps;
  const dpopNonces = config.dpop.nonce ? new DpopNonces(deps.signingKeys, clock, deps.issuer, config.dpop.nonceLifetimeSeconds) : undefined;
  return { dpop: new DpopProofVerifier(deps.replay, clock, dpopNonces), dpopNonces };
}

function tokenServiceFor(
  deps: Pick<ServiceDeps, 'config' | 'issuer' | 'sessions' | 'replay' | 'rateLimiter' | 'telemetry' | 'fetch'>,
  clock: Clock,
  accessTokens: AccessTokens,
  dpop: DpopProofVerifier,
  dpopNonces: DpopNonces | undefined,
): TokenService {
  const { config } = deps;
  const subjects = new RateLimitedSubjectTokenVerifier(config, new IssuerKeys({ fetch: deps.fetch, clock }), clock, deps.issuer, {
    limiter: deps.rateLimiter,
    perMinute: config.rateLimit.tokenRequestsPerMinutePerSubject,
    telemetry: deps.telemetry,
  });
  return new TokenService({
    config,
    subjects,
    accessTokens,
    sessions: deps.sessions,
    replay: deps.replay,
    telemetry: deps.telemetry,
    clock,
    dpop,
    dpopNonces,
  });
}

/** The verify function: introspection over the session gate. Reads sessions, writes nothing. */
export function createVerifyServices(deps: SessionDeps): VerifyServices {
  const clock = deps.clock ?? systemClock;
  const gate = sessionGateFor(deps, accessTokensFor(deps, clock), clock);
  return { introspection: new IntrospectionService(gate, clock, deps.issuer, deps.config.audience) };
}

/** The revoke function: revocation, and the gate whose cache it clears. */
export function createRevokeServices(deps: SessionDeps & Pick<ServiceDeps, 'telemetry'>): RevokeServices {
  const clock = deps.clock ?? systemClock;
  const accessTokens = accessTokensFor(deps, clock);
  return {
    config: deps.config,
    revocation: new RevocationService(accessTokens, deps.sessions, deps.telemetry, clock),
    gate: sessionGateFor(deps, accessTokens, clock),
  };
}

/** The token and refresh functions: the token service (exchange and refresh) and `/token`'s per-IP limit. */
export function createTokenServices(deps: Omit<ServiceDeps, 'secrets'>): TokenServices {
  const clock = deps.clock ?? systemClock;
  const { dpop, dpopNonces } = dpopFor(deps, clock);
  return {
    config: deps.config,
    tokens: tokenServiceFor(deps, clock, accessTokensFor(deps, clock), dpop, dpopNonces),
    dpopNonces,
    rateLimiter: deps.rateLimiter,
    telemetry: deps.telemetry,
  };
}

/** The proxy function: the proxy over the session gate, DPoP and the rate limiter. */
export function createProxyServices(deps: ServiceDeps): ProxyServices {
  const clock = deps.clock ?? systemClock;
  const gate = sessionGateFor(deps, accessTokensFor(deps, clock), clock);
  const { dpop, dpopNonces } = dpopFor(deps, clock);
  return {
    config: deps.config,
    proxy: deps.config.proxy ? createProxyService(deps.config.proxy, gate, deps, clock, dpop, dpopNonces) : undefined,
    telemetry: deps.telemetry,
  };
}

/**
 * Wires every service together, sharing one access token service, one
 * session gate (so a revocation clears the proxy's cache at once) and one
 * DPoP verifier: the local server, which serves every route from one process.
 */
export function createServices(deps: ServiceDeps): Services {
  const clock = deps.clock ?? systemClock;
  const { config, issuer } = deps;
  const accessTokens = accessTokensFor(deps, clock);
  const gate = sessionGateFor(deps, accessTokens, clock);
  const { dpop, dpopNonces } = dpopFor(deps, clock);
  return {
    config,
    issuer,
    clock,
    signingKeys: deps.signingKeys,
    accessTokens,
    tokens: tokenServiceFor(deps, clock, accessTokens, dpop, dpopNonces),
    gate,
    introspection: new IntrospectionService(gate, clock, issuer, config.audience),
    revocation: new RevocationService(accessTokens, deps.sessions, deps.telemetry, clock),
    telemetry: deps.telemetry,
    sessions: deps.sessions,
    replay: deps.replay,
    rateLimiter: deps.rateLimiter,
    dpop,
    dpopNonces,
    proxy: config.proxy ? createProxyService(config.proxy, gate, deps, clock, dpop, dpopNonces) : undefined,
  };
}

function createProxyService(
  proxy: NonNullable<TollgateConfig['proxy']>,
  gate: SessionGate,
  deps: ServiceDeps,
  clock: Clock,
  dpop: DpopProofVerifier,
  dpopNonces: DpopNonces | undefined,
): ProxyService {
  if (proxy.upstreamAuth && !deps.secrets) throw new Error('proxy.upstreamAuth needs a secret resolver');
  return new ProxyService({
    config: proxy,
    requestsPerMinute: deps.config.rateLimit.requestsPerMinute,
    gate,
    dpop,
    dpopNonces,
    limiter: deps.rateLimiter,
    upstream: new HttpUpstream(),
    credential: createUpstreamCredential(proxy.upstreamAuth, {
      secrets: deps.secrets!,
      fetch: deps.fetch ?? ((...args) => fetch(...args)),
      clock,
      timeoutMs: proxy.timeoutMs,
    }),
    telemetry: deps.telemetry,
    maxResponseBytes: proxy.maxResponseBytes,
    responseIdleTimeoutMs: proxy.responseIdleTimeoutMs,
  });
}
