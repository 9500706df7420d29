/**
 * Names of the environment variables Tollgate's code reads. Part of the
 * contract: imported by both `cdk/` (which sets them on each function) and
 * `src/` (which reads them), so the two cannot drift.
 */
export const EnvNames = {
  /** Path of the JSON config file (local runtime, synth). */
  configFile: 'TOLLGATE_CONFIG',
  /** The config itself as JSON (deployed functions: secret refs stay refs). */
  configJson: 'TOLLGATE_CONFIG_JSON',
  /** Deployed functions: the stamp synth puts beside the validated config (schema version and digest, `src/config/config-stamp.ts`). */
  configStamp: 'TOLLGATE_CONFIG_STAMP',
  /** Base URL the API is served on; the default `issuer` when the config sets none. */
  publicBaseUrl: 'TOLLGATE_PUBLIC_BASE_URL',
  /** DynamoDB table holding sessions. */
  sessionsTable: 'TOLLGATE_SESSIONS_TABLE',
  /** DynamoDB table holding replay markers and rate-limit counters. */
  guardsTable: 'TOLLGATE_GUARDS_TABLE',
  /** Optional DynamoDB endpoint override (local store, DynamoDB Local). */
  dynamodbEndpoint: 'DYNAMODB_ENDPOINT',
  /** Secrets Manager secret id holding the signing JWK set. */
  signingKeysSecretId: 'TOLLGATE_SIGNING_KEYS_SECRET_ID',
  /** File holding the signing JWK set (local runtime). */
  signingKeysFile: 'TOLLGATE_SIGNING_KEYS_FILE',
  /** Optional Secrets Manager endpoint override (tests against a loopback fake). */
  secretsManagerEndpoint: 'SECRETS_MANAGER_ENDPOINT',
  /** Name of the refresh function the token (exchange) function hands `refresh_token` grants to. */
  refreshFunctionName: 'TOLLGATE_REFRESH_FUNCTION_NAME',
  /** Optional Lambda endpoint override (tests against a loopback fake of the Invoke API). */
  lambdaEndpoint: 'LAMBDA_ENDPOINT',
} as const;

export type EnvName = (typeof EnvNames)[keyof typeof EnvNames];

/** Environment of the `TollgateAuthorizer` construct's function (set by the construct, read by src/lambda/authorizer.ts). */
export const AuthorizerEnvNames = {
  issuer: 'TOLLGATE_AUTHORIZER_ISSUER',
  audience: 'TOLLGATE_AUTHORIZER_AUDIENCE',
  jwksUri: 'TOLLGATE_AUTHORIZER_JWKS_URI',
  /** JSON list of token sources, see `TokenSource`. */
  tokenSources: 'TOLLGATE_AUTHORIZER_TOKEN_SOURCES',
  /** JSON map of route key → required scopes. */
  routeScopes: 'TOLLGATE_AUTHORIZER_ROUTE_SCOPES',
  /** Seconds to cache introspection answers; unset = offline verification only. */
  introspectCacheSeconds: 'TOLLGATE_AUTHORIZER_INTROSPECT_SECONDS',
  /** The stamp synth puts beside the validated settings above (`src/config/authorizer-config.ts`). */
  configStamp: 'TOLLGATE_AUTHORIZER_CONFIG_STAMP',
} as const;
