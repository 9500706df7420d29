import { Duration, Token } from 'aws-cdk-lib';
import { CfnAuthorizer, IdentitySource, RequestAuthorizer } from 'aws-cdk-lib/aws-apigateway';
import { HttpLambdaAuthorizer, HttpLambdaResponseType, WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { authorizerEnvironment, type AuthorizerConfig } from '../src/config/authorizer-config';
import { TollgateFunction } from './tollgate-function';

/**
 * Where the authorizer reads the token (`TokenSource` of src/authorizer/authorizer.ts, from the
 * settings contract the function checks at init, which names no Lambda event types).
 */
export type TokenSource = AuthorizerConfig['tokenSources'][number];

export interface TollgateAuthorizerProps {
  /** Tollgate's issuer URL: exactly the `iss` of its access tokens (the stack's `Issuer` output). */
  readonly issuer: string;
  /**
   * The `aud` Tollgate issues for (its config's `audience`).
   * @default 'tollgate'
   */
  readonly audience?: string;
  /**
   * Where Tollgate's keys are; skips metadata discovery.
   * @default the `jwks_uri` of `{issuer}/.well-known/oauth-authorization-server`
   */
  readonly jwksUri?: string;
  /**
   * Where the token is read, in order. `{type: 'header', name}` reads `Bearer <token>` from a header;
   * `{type: 'protocol', marker}` reads the value after `marker` in `Sec-WebSocket-Protocol`
   * (browsers cannot set headers on a WebSocket upgrade; echo only the marker back as the chosen subprotocol);
   * `{type: 'query', name}` reads a query parameter (RFC 6750 §2.3: query strings end up in access logs and
   * browser history — use it only where nothing else works, with short-lived tokens).
   * @default [{ type: 'header', name: 'Authorization' }]
   */
  readonly tokenSources?: TokenSource[];
  /**
   * Scopes required per route key: REST `"GET /orders/{id}"` (method and resource), HTTP API route keys
   * (`"GET /orders/{id}"`), WebSocket `"$connect"`; `"*"` applies to every route. A route without an entry
   * needs only a valid token.
   * @default {}
   */
  readonly routeScopes?: Record<string, string[]>;
  /**
   * How long API Gateway caches a decision for REST and HTTP APIs (WebSocket authorizers are not cached).
   * Caching keys on the token and, for REST, the method and resource, so a cached Allow never covers another route.
   * A revoked session's tokens stay accepted for up to this long (plus `introspectCacheSeconds` when set).
   * Caching needs exactly one token source; with several it is turned off.
   * @default Duration.minutes(1)
   */
  readonly resultsCacheTtl?: Duration;
  /**
   * Ask Tollgate's `/verify` whether the session is still active (answers cached this many seconds),
   * so revocation bites before `exp`. Costs one call to Tollgate per token per interval.
   * @default undefined — offline verification only (a revoked session's tokens are accepted until `exp`)
   */
  readonly introspectCacheSeconds?: number;
  /** @default 30 */
  readonly logRetentionDays?: number;
  /**
   * The folder of the prebuilt function assets (`authorizer/index.mjs`).
   * @default the assets inside the installed package (`tollgate/dist/assets`)
   */
  readonly assetsDirectory?: string;
}

function identityExpression(source: TokenSource, flavour: 'rest' | 'http' | 'websocket'): string {
  const header = source.type === 'protocol' ? 'Sec-WebSocket-Protocol' : source.type === 'header' ? source.name : undefined;
  if (flavour === 'rest') return header ? IdentitySource.header(header) : IdentitySource.queryString((source as { name: string }).name);
  if (flavour === 'http') return header ? `$request.header.${header}` : `$request.querystring.${(source as { name: string }).name}`;
  return header ? `route.request.header.${header}` : `route.request.querystring.${(source as { name: string }).name}`;
}

/**
 * A Lambda REQUEST authorizer that other stacks attach to their REST, HTTP or
 * WebSocket APIs so they accept Tollgate access tokens without the proxy: it
 * verifies the token (signature, `typ: at+jwt`, `iss`, `aud`, `exp`, optionally
 * the session through `/verify`), requires the route's scopes, and hands the
 * integration the principal (`sub`) and a context with `sid`, `scope`, `kind`,
 * `clientId`, `repository`. The function's role can only write its own logs:
 * it reads nothing in AWS, only Tollgate's public JWKS (and `/verify`).
 */
export class TollgateAuthorizer extends Construct {
  readonly function: LambdaFunction;
  private readonly props: TollgateAuthorizerProps;
  private readonly sources: TokenSource[];
  private rest?: RequestAuthorizer;
  private http?: HttpLambdaAuthorizer;
  private websocket?: WebSocketLambdaAuthorizer;

  constructor(scope: Construct, id: string, props: TollgateAuthorizerProps) {
    super(scope, id);
    this.props = props;
    this.sources = props.tokenSources ?? [{ type: 'header', name: 'Authorization' }];
    if (this.sources.length === 0) throw new Error('TollgateAuthorizer: tokenSources must name at least one source');
    const ttl = props.resultsCacheTtl?.toSeconds() ?? 60;
    if (ttl > 3600) throw new Error('TollgateAuthorizer: resultsCacheTtl is at most 1 hour');
    // The settings are validated and stamped at synth (the function refuses others), so they must be known then.
    for (const [name, value] of [['issuer', props.issuer], ['audience', props.audience], ['jwksUri', props.jwksUri]] as const) {
      if (value !== undefined && Token.isUnresolved(value)) {
        throw new Error(
          `TollgateAuthorizer: ${name} must be known at synth, not a deploy-time value (it is checked and stamped into the function's settings); ` +
            "give the URL itself: your Tollgate's custom domain, or the Issuer output of the deployed Tollgate",
        );
      }
    }
    // Validated here, at synth, and stamped: the function refuses settings that did not come this way.
    const environment = authorizerEnvironment({
      issuer: props.issuer,
      audience: props.audience ?? 'tollgate',
      jwksUri: props.jwksUri,
      tokenSources: this.sources,
      routeScopes: props.routeScopes ?? {},
      introspectCacheSeconds: props.introspectCacheSeconds,
    });
    this.function = new TollgateFunction(this, 'Handler', {
      assetsDirectory: props.assetsDirectory,
      entry: 'authorizer',
      description: 'Tollgate access-token authorizer',
      environment,
      logRetentionDays: props.logRetentionDays ?? 30,
    }).fn;
  }

  /** Cache TTL in seconds; 0 when several token sources make caching unsafe (API Gateway requires every identity source). */
  private cacheSeconds(): number {
    return this.sources.length === 1 ? (this.props.resultsCacheTtl?.toSeconds() ?? 60) : 0;
  }

  /** For `RestApi` methods: `{ authorizer: tollgate.forRestApi(), authorizationType: AuthorizationType.CUSTOM }`. */
  forRestApi(): RequestAuthorizer {
    const ttl = this.cacheSeconds();
    this.rest ??= new RequestAuthorizer(this, 'RestAuthorizer', {
      handler: this.function,
      // The route is part of the cache key: a decision for one method never answers for another.
      identitySources:
        ttl > 0 ? [identityExpression(this.sources[0]!, 'rest'), IdentitySource.context('httpMethod'), IdentitySource.context('resourcePath')] : [],
      resultsCacheTtl: Duration.seconds(ttl),
    });
    // Uncached: no identity source at all (an empty one would make API Gateway answer 401 before the function runs).
    if (ttl === 0) (this.rest.node.defaultChild as CfnAuthorizer).addPropertyDeletionOverride('IdentitySource');
    return this.rest;
  }

  /** For `HttpApi` routes (simple responses: `isAuthorized` plus the context). */
  forHttpApi(): HttpLambdaAuthorizer {
    const ttl = this.cacheSeconds();
    this.http ??= new HttpLambdaAuthorizer('TollgateHttpAuthorizer', this.function, {
      responseTypes: [HttpLambdaResponseType.SIMPLE],
      identitySource: ttl > 0 ? [identityExpression(this.sources[0]!, 'http'), '$context.routeKey'] : [],
      resultsCacheTtl: Duration.seconds(ttl),
    });
    return this.http;
  }

  /** For a `WebSocketApi`'s `$connect` route (WebSocket authorizers are not cached). */
  forWebSocketApi(): WebSocketLambdaAuthorizer {
    this.websocket ??= new WebSocketLambdaAuthorizer('TollgateWebSocketAuthorizer', this.function, {
      identitySource: this.sources.length === 1 ? [identityExpression(this.sources[0]!, 'websocket')] : [],
    });
    return this.websocket;
  }
}
