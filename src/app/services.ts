import type { TollgateConfig } from '../config/config';
import { systemClock, type Clock } from '../domain/clock';
import { IssuerKeys } from '../adapters/issuer-keys';
import type { ReplayGuard } from '../ports/replay-guard';
import type { SessionStore } from '../ports/session-store';
import type { SigningKeySource } from '../ports/signing-keys';
import type { Telemetry } from '../ports/telemetry';
import { AccessTokens } from '../services/access-tokens';
import { IntrospectionService } from '../services/introspection-service';
import { RevocationService } from '../services/revocation-service';
import { SessionGate } from '../services/session-gate';
import { SubjectTokenVerifier } from '../services/subject-token-verifier';
import { TokenService } from '../services/token-service';

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
  /** Used for issuers' discovery and JWKS (tests pass one bound to loopback servers). */
  fetch?: typeof fetch;
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
}

/** Wires the services together. The only place that knows which service needs which collaborator. */
export function createServices(deps: ServiceDeps): Services {
  const clock = deps.clock ?? systemClock;
  const { config, issuer } = deps;
  const accessTokens = new AccessTokens(deps.signingKeys, clock, issuer, config.audience, config.accessTokenTtlSeconds);
  const subjects = new SubjectTokenVerifier(config, new IssuerKeys({ fetch: deps.fetch }), clock, issuer);
  const gate = new SessionGate(accessTokens, deps.sessions, clock, config.proxy?.sessionCacheSeconds ?? 5);
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
    }),
    gate,
    introspection: new IntrospectionService(gate, clock, issuer, config.audience),
    revocation: new RevocationService(accessTokens, deps.sessions, deps.telemetry, clock),
    telemetry: deps.telemetry,
    sessions: deps.sessions,
    replay: deps.replay,
  };
}
