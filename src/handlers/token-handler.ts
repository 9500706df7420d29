import { OAuthError, RateLimitedError } from '../domain/errors';
import { parseScope } from '../domain/scope';
import type { TokenServices } from '../app/services';
import { calledUrl, headerValues, sourceIp, type HttpEvent, type HttpResult } from '../http/api-event';
import { readParameters, required } from '../http/form';
import { httpHandler, type Observability } from '../http/middleware';
import { BROWSER_ROUTES, corsPolicyFor } from '../services/cors-policy';
import { json } from '../http/responses';
import { MAX_TOKEN_LENGTH } from '../services/subject-token-verifier';
import type { DpopPresentation } from '../services/token-service';

export const GrantTypes = {
  tokenExchange: 'urn:ietf:params:oauth:grant-type:token-exchange',
  refreshToken: 'refresh_token',
} as const;

/** Grants this handler serves; the other is delegated (see `createTokenHandler`). */
export type TokenGrant = 'exchange' | 'refresh' | 'both';

export interface TokenHandlerOptions {
  grants: TokenGrant;
  /**
   * Where `refresh_token` grants go when this handler serves only exchange: in
   * AWS the exchange function hands the event to the refresh function, so it
   * never needs the refresh function's rights.
   */
  delegateRefresh?: (event: HttpEvent) => Promise<HttpResult>;
}

function tokenParameter(parameters: Map<string, string>, name: string): string {
  const value = required(parameters, name);
  if (value.length > MAX_TOKEN_LENGTH) throw new OAuthError('invalid_request', `${name} is too long`, { reason: 'malformed' });
  return value;
}

function scopeParameter(parameters: Map<string, string>): string[] | undefined {
  const value = parameters.get('scope');
  if (value === undefined) return undefined;
  const scopes = parseScope(value);
  if (!scopes) throw new OAuthError('invalid_scope', 'scope is malformed', { reason: 'scope' });
  return scopes;
}

/**
 * The request's DPoP header and the URL it was sent to (RFC 9449 §4.3: the
 * `htu` is checked against the URL as API Gateway saw it). More than one
 * DPoP header is an invalid proof (§4.3 item 1).
 */
function dpopPresentation(event: HttpEvent): DpopPresentation | undefined {
  const values = headerValues(event, 'dpop');
  if (values.length === 0) return undefined;
  if (values.length > 1) throw new OAuthError('invalid_dpop_proof', 'the DPoP proof is not valid', { reason: 'dpop', detail: 'several DPoP headers' });
  return { proof: values[0]!.trim(), url: calledUrl(event) ?? '' };
}

/** RFC 9449 §8.2: with server nonces on, every answer to a DPoP request carries a current nonce. */
async function withNonce(services: TokenServices, dpop: DpopPresentation | undefined, body: unknown): Promise<HttpResult> {
  return json(200, body, dpop && services.dpopNonces ? { 'DPoP-Nonce': await services.dpopNonces.current() } : {});
}

/**
 * The `/token` per-source-IP limit, before the body is even read. The address
 * is API Gateway's `requestContext.identity.sourceIp`, never `X-Forwarded-For`
 * (which the client writes). The per-subject limit runs after the subject
 * token is verified (`RateLimitedSubjectTokenVerifier`). A refusal is 429
 * with `Retry-After` and an RFC 6749 §5.2-shaped body (`rate_limited`).
 */
async function limitSourceIp(services: TokenServices, event: HttpEvent): Promise<void> {
  const decision = await services.rateLimiter.hit(`token-ip:${sourceIp(event)}`, services.config.rateLimit.tokenRequestsPerMinutePerIp, 60);
  if (!decision.allowed) {
    services.telemetry.emit({ type: 'RateLimited', limit: 'token_ip' });
    throw new RateLimitedError(decision.retryAfterSeconds);
  }
}

/** `POST /token`: RFC 6749 token endpoint for token exchange (RFC 8693) and refresh (§6). */
export function createTokenHandler(services: TokenServices, observability: Observability, options: TokenHandlerOptions = { grants: 'both' }) {
  return httpHandler(observability, async (event) => {
    try {
      // In AWS the refresh function only receives events the token function already counted.
      if (options.grants !== 'refresh') await limitSourceIp(services, event);
      const parameters = readParameters(event);
      const grantType = required(parameters, 'grant_type');
      const clientId = parameters.get('client_id');
      const dpop = dpopPresentation(event);
      if (grantType === GrantTypes.tokenExchange && options.grants !== 'refresh') {
        if (parameters.has('actor_token')) throw new OAuthError('invalid_request', 'actor_token is not supported');
        // RFC 8707 resource indicators: Tollgate issues for its one audience only; say so rather than ignore it.
        if (parameters.has('resource')) throw new OAuthError('invalid_target', 'resource indicators are not supported');
        const requested = parameters.get('requested_token_type');
        if (requested !== undefined && requested !== 'urn:ietf:params:oauth:token-type:access_token') {
          throw new OAuthError('invalid_request', 'only access tokens can be requested');
        }
        const audience = parameters.get('audience');
        const body = await services.tokens.exchange({
          subjectToken: tokenParameter(parameters, 'subject_token'),
          subjectTokenType: required(parameters, 'subject_token_type'),
          scope: scopeParameter(parameters),
          audience: audience === undefined ? undefined : audience.split(' ').filter(Boolean),
          clientId,
          dpop,
        });
        return withNonce(services, dpop, body);
      }
      if (grantType === GrantTypes.refreshToken) {
        if (options.grants === 'exchange') {
          if (!options.delegateRefresh) throw new OAuthError('unsupported_grant_type', 'refresh_token is not served here');
          return options.delegateRefresh(event);
        }
        const body = await services.tokens.refresh({
          refreshToken: tokenParameter(parameters, 'refresh_token'),
          scope: scopeParameter(parameters),
          clientId,
          dpop,
        });
        return withNonce(services, dpop, body);
      }
      throw new OAuthError('unsupported_grant_type', 'grant_type is not supported');
    } catch (error) {
      if (error instanceof OAuthError && error.reason) {
        services.telemetry.emit({ type: 'TokenRejected', reason: error.reason, endpoint: 'token', detail: error.detail });
      }
      if (error instanceof RateLimitedError) services.telemetry.emit({ type: 'TokenRejected', reason: 'rate_limited', endpoint: 'token' });
      throw error;
    }
  }, {}, { rules: corsPolicyFor(services.config), route: BROWSER_ROUTES.token });
}
