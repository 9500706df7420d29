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
import { HttpUpstream } from '../proxy/http-upstream';
import { ProxyService } from '../proxy/proxy-service';
import { MAX_UPSTREAM_BODY_BYTES } from '../proxy/response-limits';
import { createUpstreamCredential } from '../proxy/upstream-credentials';
import { DpopProofVerifier } from '../dpop/dpop-proof';
import { DpopNonces } from '../dpop/dpop-nonces';

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

/** Wires the services together. The only place that knows which service needs which collaborator. */
export function createServices(deps: ServiceDeps): Services {
  const clock = deps.clock ?? systemClock;
  const { config, issuer } = deps;
  const accessTokens = new AccessTokens(deps.signingKeys, clock, issuer, config.audience, config.accessTokenTtlSeconds);
  const subjects = new RateLimitedSubjectTokenVerifier(config, new IssuerKeys({ fetch: deps.fetch, clock }), clock, issuer, {
    limiter: deps.rateLimiter,
    perMinute: config.rateLimit.tokenRequestsPerMinutePerSubject,
    telemetry: deps.telemetry,
  });
  const gate = new SessionGate(
    accessTokens,
    deps.sessions,
    clock,
    config.proxy?.sessionCacheSeconds ?? 5,
    new Set(config.trust.map((trust) => trust.name)),
  );
  const dpopNonces = config.dpop.nonce ? new DpopNonces(deps.signingKeys, clock, issuer, config.dpop.nonceLifetimeSeconds) : undefined;
  const dpop = new DpopProofVerifier(deps.replay, clock, dpopNonces);
  return {
    config,
    issuer,
    clock,
    signingKeys: deps.signingKeys,
    accessTokens,
    tokens: new TokenService({
      config,
      subjects,
      accessTokens,
      sessions: deps.sessions,
      replay: deps.replay,
      telemetry: deps.telemetry,
      clock,
      dpop,
      dpopNonces,
    }),
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
    maxResponseBytes: MAX_UPSTREAM_BODY_BYTES,
  });
}
