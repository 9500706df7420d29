import type {
  APIGatewayAuthorizerResult,
  APIGatewayRequestAuthorizerEvent,
  APIGatewayRequestAuthorizerEventV2,
  APIGatewaySimpleAuthorizerWithContextResult,
} from 'aws-lambda';
import { bearerToken, hasScope, TollgateVerifyError, type TollgateClaims, type Verifier } from '../verifier';

/** Where the authorizer looks for the access token, in order. */
export type TokenSource =
  /** `Authorization: Bearer <token>` (or another header carrying `Bearer <token>`). */
  | { type: 'header'; name: string }
  /** `Sec-WebSocket-Protocol: tollgate, <token>`: browsers cannot set headers on WebSocket upgrades. */
  | { type: 'protocol'; marker: string }
  /** `?<name>=<token>`: last resort (RFC 6750 §2.3: query tokens end up in logs and histories). */
  | { type: 'query'; name: string };

export interface AuthorizerSettings {
  tokenSources: TokenSource[];
  /** Scopes required per route: `"GET /orders/{id}"` (REST: method + resource; HTTP API: route key), `"$connect"`, or `"*"` for any route. */
  routeScopes: Record<string, string[]>;
}

/** What integrations receive in `requestContext.authorizer`: strings only, for attribution. */
export interface AuthorizerContext {
  [key: string]: string;
  sub: string;
  sid: string;
  scope: string;
  kind: string;
  clientId: string;
  repository: string;
}

type RestOrWebSocketEvent = APIGatewayRequestAuthorizerEvent & { requestContext: { routeKey?: string } };
export type AuthorizerEvent = RestOrWebSocketEvent | APIGatewayRequestAuthorizerEventV2;
export type AuthorizerResult = APIGatewayAuthorizerResult | APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext | Record<string, never>>;

function lookup(map: Record<string, string | undefined> | null | undefined, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of Object.entries(map ?? {})) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Finds the token in the configured sources, in order; undefined when none carries one. */
export function findToken(event: AuthorizerEvent, sources: readonly TokenSource[]): string | undefined {
  for (const source of sources) {
    if (source.type === 'header') {
      const token = bearerToken(lookup(event.headers, source.name));
      if (token) return token;
    } else if (source.type === 'protocol') {
      const protocols = (lookup(event.headers, 'sec-websocket-protocol') ?? '').split(',').map((part) => part.trim());
      const index = protocols.indexOf(source.marker);
      if (index !== -1 && protocols[index + 1]) return protocols[index + 1];
    } else {
      const token = lookup(event.queryStringParameters, source.name);
      if (token) return token;
    }
  }
  return undefined;
}

/** The route key the scopes are looked up by. */
export function routeKey(event: AuthorizerEvent): string {
  if ('version' in event && event.version === '2.0') return event.routeKey;
  const rest = event as RestOrWebSocketEvent;
  return rest.requestContext?.routeKey ?? `${rest.httpMethod} ${rest.resource}`;
}

function contextOf(claims: TollgateClaims): AuthorizerContext {
  return {
    sub: claims.sub,
    sid: claims.sid,
    scope: claims.scope,
    kind: claims.kind,
    clientId: claims.client_id ?? '',
    repository: claims.gh?.repository ?? '',
  };
}

function policy(principalId: string, effect: 'Allow' | 'Deny', resource: string, context?: AuthorizerContext): APIGatewayAuthorizerResult {
  return {
    principalId,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: effect, Resource: resource }] },
    ...(context ? { context } : {}),
  };
}

/**
 * A Lambda REQUEST authorizer for REST, HTTP and WebSocket APIs. Verifies the
 * Tollgate access token with the verifier library and requires the route's
 * scopes. REST and WebSocket: a missing or bad token throws `Unauthorized`
 * (API Gateway answers 401); missing scopes return a Deny policy for this
 * method only (403). HTTP APIs (simple responses): `isAuthorized`. The
 * principal is `sub`; the context carries `sid`, `scope`, `kind` for
 * attribution. Tollgate being unreachable throws another error (API Gateway
 * answers 500): never an Allow.
 */
export function createAuthorizer(verifier: Verifier, settings: AuthorizerSettings) {
  return async (event: AuthorizerEvent): Promise<AuthorizerResult> => {
    const v2 = 'version' in event && event.version === '2.0';
    const resource = v2 ? (event as APIGatewayRequestAuthorizerEventV2).routeArn : (event as RestOrWebSocketEvent).methodArn;
    let claims: TollgateClaims;
    try {
      claims = await verifier.verify(findToken(event, settings.tokenSources));
    } catch (error) {
      if (error instanceof TollgateVerifyError) {
        if (v2) return { isAuthorized: false, context: {} };
        throw new Error('Unauthorized'); // API Gateway's contract for a 401
      }
      throw error;
    }
    const key = routeKey(event);
    const required = [...(settings.routeScopes['*'] ?? []), ...(settings.routeScopes[key] ?? [])];
    const allowed = hasScope(claims, ...required);
    const context = contextOf(claims);
    if (v2) return allowed ? { isAuthorized: true, context } : { isAuthorized: false, context: {} };
    return policy(claims.sub, allowed ? 'Allow' : 'Deny', resource, allowed ? context : undefined);
  };
}
