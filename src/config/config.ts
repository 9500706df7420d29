// A namespace import lets esbuild drop what the schema never uses: `import { z }`
// pulls every zod locale into each Lambda bundle (about 380 KB of 960 KB, see docs/performance.md).
import * as z from 'zod';
// The domain owns the shapes the running code works with; the schema produces them (checked below).
import { SESSION_KINDS, type SessionKind, type SessionPolicy } from '../domain/session';
import type { TrustEntry, TrustRule } from '../domain/trust';
import { HTTP_METHODS, type ProxyRoute } from '../domain/route-rules';
import { parseOriginPattern } from '../domain/origin-pattern';
// Shared with the running code, which must not load the schema library (deployed functions, see `config-rules.ts`).
import { isSafeUrl, SCOPE_TOKEN, SECRET_REF, SIGNING_ALGORITHMS } from './config-rules';
import { ConfigError, formatPath } from './config-error';
import { DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_RESPONSE_IDLE_TIMEOUT_MS, MAX_RESPONSE_IDLE_TIMEOUT_MS, STREAMED_RESPONSE_LIMIT_BYTES } from '../domain/response-limits';

export { isSafeUrl, SCOPE_TOKEN, SECRET_REF, SIGNING_ALGORITHMS, type SigningAlg } from './config-rules';
export { ConfigError, formatPath } from './config-error';

/**
 * Tollgate's configuration: one JSON document, validated once at cold start.
 * `loadConfig` reports every problem at once, each by its path
 * (`trust[0].rules[1].scopes: …`), and returns deeply frozen typed values.
 *
 * What this does not check: that issuers are reachable, that secret refs
 * resolve, or that a trust rule can ever match. Those are run-time facts.
 */

const safeUrl = z
  .string()
  .refine(isSafeUrl, 'expected an https:// URL (http:// only for loopback hosts), without credentials or fragment');

const scopeToken = z.string().regex(SCOPE_TOKEN, 'expected an RFC 6749 scope token (printable ASCII, no space, quote or backslash)');

const secretRef = z
  .string()
  .regex(SECRET_REF, 'expected a secret ref: env:NAME or aws-secretsmanager:<secret id>[#<json key>]');

const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type AsymmetricAlg = (typeof ASYMMETRIC_ALGS)[number];

const claimValue = z.union([z.string().min(1), z.number(), z.boolean()]);
const claimPattern = z.union([claimValue, z.array(claimValue).min(1, 'expected at least one pattern')]);

const ruleSchema = z.strictObject({
  claims: z
    .record(z.string().regex(/^[^.\s]+(\.[^.\s]+)*$/, 'expected a claim name or dot path'), claimPattern)
    .refine((claims) => Object.keys(claims).length > 0, 'a rule must match on at least one claim'),
  scopes: z.array(scopeToken).min(1, 'expected a non-empty list'),
});

/**
 * Cross-field checks also run when another field of the same object is
 * invalid (zod skips them by default), so every problem is reported at once.
 */
const evenWhenInvalid = { when: (payload: { value: unknown }) => typeof payload.value === 'object' && payload.value !== null };

const trustSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'expected lower-case letters, digits, - or _ (at most 63)'),
    issuer: safeUrl,
    jwksUri: safeUrl.optional(),
    audiences: z.array(z.string().min(1)).min(1, 'expected a non-empty list').optional(),
    kind: z.enum(SESSION_KINDS),
    algorithms: z.array(z.enum(ASYMMETRIC_ALGS)).min(1).default(['RS256', 'ES256']),
    authorizedParties: z.array(z.string().min(1)).min(1, 'expected a non-empty list').optional(),
    singleUse: z.boolean().optional(),
    clockToleranceSeconds: z.number().int().min(0).max(60).default(30),
    /** RFC 9449: `required` refuses an exchange without a DPoP proof, so every session of this issuer is key-bound (docs/dpop.md). */
    dpop: z.strictObject({ required: z.boolean().default(false) }).optional(),
    rules: z.array(ruleSchema).min(1, 'expected at least one rule'),
  })
  .superRefine((trust, ctx) => {
    if (trust.kind === 'ci' && !trust.audiences) {
      ctx.addIssue({ code: 'custom', path: ['audiences'], message: 'required for ci issuers' });
    }
    if (trust.kind === 'user' && !trust.audiences && !trust.authorizedParties) {
      ctx.addIssue({
        code: 'custom',
        path: ['authorizedParties'],
        message: 'a user issuer without audiences must list authorizedParties (Clerk session tokens carry no aud)',
      });
    }
  }, evenWhenInvalid)
  .transform((trust) => ({ ...trust, singleUse: trust.singleUse ?? trust.kind === 'ci' }));

const sessionPolicy = (defaults: { maxLifetimeSeconds: number; idleTimeoutSeconds: number; maxRefreshes: number }) =>
  z
    .strictObject({
      maxLifetimeSeconds: z.number().int().min(60).max(30 * 86400).default(defaults.maxLifetimeSeconds),
      idleTimeoutSeconds: z.number().int().min(60).max(30 * 86400).default(defaults.idleTimeoutSeconds),
      maxRefreshes: z.number().int().min(0).max(100_000).default(defaults.maxRefreshes),
      refreshReuseGraceSeconds: z.number().int().min(0).max(60).default(10),
    })
    .default({ ...defaults, refreshReuseGraceSeconds: 10 });

const USER_SESSION_DEFAULTS = { maxLifetimeSeconds: 86_400, idleTimeoutSeconds: 7_200, maxRefreshes: 200 };
const CI_SESSION_DEFAULTS = { maxLifetimeSeconds: 3_600, idleTimeoutSeconds: 1_800, maxRefreshes: 8 };

const routeSchema = z.strictObject({
  /** The rule's name in metrics and logs (the `route` dimension); its index when unset. */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected letters, digits, _ . or - (at most 64)').optional(),
  methods: z.array(z.enum(HTTP_METHODS)).min(1, 'expected a non-empty list'),
  path: z
    .string()
    .regex(/^\/([^/\s?#]+(\/[^/\s?#]+)*)?$/, 'expected a path glob starting with / (segments of *, ** or literals)'),
  scopes: z.array(scopeToken).default([]),
});

const upstreamAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('header'), name: z.string().regex(/^[A-Za-z0-9-]+$/, 'expected a header name'), value: secretRef }),
  z.strictObject({ type: z.literal('bearer'), token: secretRef }),
  z.strictObject({
    type: z.literal('oauth2-client-credentials'),
    tokenUrl: safeUrl,
    clientId: z.string().min(1),
    clientSecret: secretRef,
    scope: z.string().min(1).optional(),
    /** RFC 6749 §2.3.1: HTTP Basic (which every server must support) or the secret in the form body. */
    authMethod: z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_basic'),
    /** Sent as the `audience` parameter (Auth0 and others require it for client credentials). */
    audience: z.string().min(1).optional(),
  }),
]);

/**
 * Largest request body the proxy can accept: Lambda's 6 MB invocation limit
 * applies to the whole event, whose body arrives base64-encoded (4/3 larger),
 * so 4 MiB of body leaves room for the encoding and the headers.
 */
export const MAX_PROXY_REQUEST_BYTES = 4 * 1024 * 1024;

/**
 * The one CORS policy of every browser-facing route (`src/services/cors-policy.ts`):
 * origins exact or `https://*.example.com` / `http://localhost:*` patterns
 * (`src/domain/origin-pattern.ts`), never `*` or `null`.
 */
const corsSchema = z.strictObject({
  allowedOrigins: z
    .array(
      z
        .string()
        .refine(
          (origin) => parseOriginPattern(origin) !== undefined,
          'expected an origin (scheme://host[:port]); a pattern may start the host with one *. label (two literal labels after it) or end with :* (any port); never * or null',
        ),
    )
    .default([]),
  allowCredentials: z.boolean().default(false),
  maxAgeSeconds: z.number().int().min(0).max(86_400).default(600),
  /** Upstream response headers pages may read, beyond Tollgate's own (`WWW-Authenticate`, `Retry-After`, `DPoP-Nonce`). */
  exposeHeaders: z.array(z.string().regex(/^[A-Za-z0-9-]+$/, 'expected a header name')).default([]),
});

const proxySchema = z.strictObject({
  upstreamUrl: safeUrl.refine((value) => !value.includes('?'), 'expected no query string (the request\'s own query is appended)'),
  routes: z.array(routeSchema).default([]),
  upstreamAuth: upstreamAuthSchema.optional(),
  timeoutMs: z.number().int().min(100).max(28_000).default(10_000),
  maxRequestBytes: z.number().int().min(0).max(MAX_PROXY_REQUEST_BYTES).default(1024 * 1024),
  sessionCacheSeconds: z.number().int().min(0).max(300).default(5),
  /** Largest upstream response body streamed to a client; a longer one is cut (Lambda streams at most 200 MB). */
  maxResponseBytes: z.number().int().min(0).max(STREAMED_RESPONSE_LIMIT_BYTES).default(DEFAULT_MAX_RESPONSE_BYTES),
  /** A streamed response body that sends nothing for this long is cut (at most API Gateway's 5-minute idle timeout). */
  responseIdleTimeoutMs: z.number().int().min(1_000).max(MAX_RESPONSE_IDLE_TIMEOUT_MS).default(DEFAULT_RESPONSE_IDLE_TIMEOUT_MS),
  /** The older place of the one CORS policy; the top-level `cors` is preferred (both may not be set). */
  cors: corsSchema.optional(),
  forwardHeaders: z.array(z.string().regex(/^[A-Za-z0-9-]+$/, 'expected a header name')).optional(),
});

const RATE_LIMIT_DEFAULTS = { requestsPerMinute: 100, tokenRequestsPerMinutePerSubject: 120, tokenRequestsPerMinutePerIp: 600, leaseSeconds: 60, maxClaimFraction: 0.5 };

const rateLimitSchema = z
  .strictObject({
    /** Proxied requests per subject (all its sessions together). */
    requestsPerMinute: z.number().int().min(1).max(1_000_000).default(RATE_LIMIT_DEFAULTS.requestsPerMinute),
    /** Token exchanges per verified subject-token subject (`<trust>:<sub>`); a CI matrix shares one subject. */
    tokenRequestsPerMinutePerSubject: z.number().int().min(1).max(1_000_000).default(RATE_LIMIT_DEFAULTS.tokenRequestsPerMinutePerSubject),
    /** `/token` requests (every grant) per source IP as API Gateway saw it; NATed runners share one. */
    tokenRequestsPerMinutePerIp: z.number().int().min(1).max(1_000_000).default(RATE_LIMIT_DEFAULTS.tokenRequestsPerMinutePerIp),
    /** Leased quota: a claim covers the demand an instance saw, projected this far ahead (0: one store write per request). */
    leaseSeconds: z.number().int().min(0).max(60).default(RATE_LIMIT_DEFAULTS.leaseSeconds),
    /** Leased quota: a claim takes at most this fraction of what is left of a window's budget. */
    maxClaimFraction: z.number().gt(0).max(1).default(RATE_LIMIT_DEFAULTS.maxClaimFraction),
  })
  .default(RATE_LIMIT_DEFAULTS);

/** The retention periods CloudWatch Logs accepts, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** API Gateway throttling: a token bucket refilled at `rateLimit` per second, holding at most `burstLimit`. */
const throttleSchema = z.strictObject({
  rateLimit: z.number().positive('expected a positive number of requests per second').max(1_000_000),
  burstLimit: z.number().int().min(1).max(1_000_000),
});

/** `"POST /token"`: a method (or `ANY`) and an API Gateway resource path, as in `src/contract/routes.ts`. */
export const ROUTE_KEY = /^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|ANY) (\/|(\/[^/\s]+)+)$/;

/**
 * Deploy-only settings, read by the CDK stack at synth and ignored by the
 * functions. Whether a `routeThrottle` key names an existing route is checked
 * by the stack (it knows the route table), not here.
 */
const awsSchema = z
  .strictObject({
    /** Stage-wide default for every method. */
    throttle: throttleSchema.default({ rateLimit: 100, burstLimit: 200 }),
    /** Per-route overrides, keyed like `"POST /token"`. */
    routeThrottle: z
      .record(z.string(), throttleSchema)
      .superRefine((routes, ctx) => {
        for (const key of Object.keys(routes)) {
          if (!ROUTE_KEY.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'expected "<METHOD> <resource path>", e.g. "POST /token"' });
        }
      })
      .default({}),
    logRetentionDays: z
      .number()
      .int()
      .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), `expected one of ${LOG_RETENTION_DAYS.join(', ')}`)
      .default(365),
    /** Subscribed to the alarm topic (the recipient must confirm the subscription). */
    alarmEmail: z.email('expected an email address').optional(),
    keyRotationDays: z.number().int().min(1).max(365).default(30),
    customDomain: z
      .strictObject({
        domainName: z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'expected a lower-case DNS name'),
        /** A regional ACM certificate in the stack's region covering `domainName`. */
        certificateArn: z.string().regex(/^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/, 'expected an ACM certificate ARN'),
        /** When set, the stack creates the alias record in this Route 53 zone. */
        hostedZone: z.strictObject({ id: z.string().regex(/^Z[A-Z0-9]{1,32}$/, 'expected a Route 53 hosted zone id'), name: z.string().min(1) }).optional(),
      })
      .optional(),
  })
  .prefault({});

/** Server-wide DPoP (RFC 9449) settings; binding itself needs no setting (docs/dpop.md). */
const dpopSchema = z
  .strictObject({
    /** RFC 9449 §8–9: every proof must carry a nonce Tollgate issued (`DPoP-Nonce`) within `nonceLifetimeSeconds`. */
    nonce: z.boolean().default(false),
    nonceLifetimeSeconds: z.number().int().min(30).max(3_600).default(300),
  })
  .prefault({});

/**
 * Identity providers' webhooks that end sessions early (docs/webhooks.md).
 * Secret refs stay refs here; `webhooks.clerk.trust` names are checked
 * against `trust` below.
 */
const webhooksSchema = z.strictObject({
  clerk: z
    .strictObject({
      /** Ref to the endpoint's `whsec_…` signing secret (several, separated by spaces, while rotating). */
      signingSecret: secretRef,
      /** The `user` trust entries whose sessions this Clerk instance's events end; default: every `user` entry. */
      trust: z.array(z.string().min(1)).min(1, 'expected a non-empty list').optional(),
    })
    .optional(),
});

export const configSchema = z
  .strictObject({
    /** The editor's JSON Schema reference (`config.schema.json`, shipped in the package); accepted and never read. */
    $schema: z.string().optional(),
    issuer: safeUrl.optional(),
    audience: z.string().min(1).default('tollgate'),
    /** Below 60 only for tests that need expiry in seconds (the browser suite uses 2). */
    accessTokenTtlSeconds: z.number().int().min(2).max(86_400).default(900),
    signing: z.strictObject({ alg: z.enum(SIGNING_ALGORITHMS).default('RS256') }).default({ alg: 'RS256' }),
    sessions: z
      .strictObject({ user: sessionPolicy(USER_SESSION_DEFAULTS), ci: sessionPolicy(CI_SESSION_DEFAULTS) })
      .default({
        user: { ...USER_SESSION_DEFAULTS, refreshReuseGraceSeconds: 10 },
        ci: { ...CI_SESSION_DEFAULTS, refreshReuseGraceSeconds: 10 },
      }),
    trust: z.array(trustSchema).min(1, 'expected at least one trusted issuer'),
    proxy: proxySchema.optional(),
    /** Browsers on these origins may call `/token`, `/revoke`, the metadata, the JWKS and the proxy (docs/client.md). */
    cors: corsSchema.optional(),
    webhooks: webhooksSchema.optional(),
    dpop: dpopSchema,
    rateLimit: rateLimitSchema,
    /** Deploy-only (CDK stack); the functions never read it. */
    aws: awsSchema,
  })
  .superRefine((config, ctx) => {
    // The document may be partly invalid here (see `evenWhenInvalid`): read it defensively.
    const trusts: unknown[] = Array.isArray(config.trust) ? config.trust : [];
    const seen = new Map<string, number>();
    trusts.forEach((trust, index) => {
      const name = (trust as { name?: unknown } | null)?.name;
      if (typeof name !== 'string') return;
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['trust', index, 'name'], message: `duplicates trust[${first}].name` });
      } else seen.set(name, index);
    });
    if ((config as { cors?: unknown }).cors !== undefined && (config as { proxy?: { cors?: unknown } }).proxy?.cors !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['proxy', 'cors'], message: 'the top-level cors applies to every browser-facing route, the proxy included: set one of the two' });
    }
    const clerk = (config as { webhooks?: { clerk?: { trust?: unknown } } }).webhooks?.clerk;
    if (clerk) {
      const userTrusts = trusts.filter((trust) => (trust as { kind?: unknown } | null)?.kind === 'user');
      if (Array.isArray(clerk.trust)) {
        clerk.trust.forEach((name, index) => {
          const entry = trusts.find((trust) => (trust as { name?: unknown } | null)?.name === name) as { kind?: unknown } | undefined;
          if (!entry) ctx.addIssue({ code: 'custom', path: ['webhooks', 'clerk', 'trust', index], message: 'no trust entry has this name' });
          else if (entry.kind !== 'user') ctx.addIssue({ code: 'custom', path: ['webhooks', 'clerk', 'trust', index], message: 'names a ci trust entry; Clerk events end user sessions only' });
        });
      } else if (Array.isArray(config.trust) && userTrusts.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['webhooks', 'clerk'], message: 'no user trust entry for Clerk events to act on' });
      }
    }
  }, evenWhenInvalid);

export type TollgateConfigInput = z.input<typeof configSchema>;
export type TollgateConfig = DeepReadonly<z.output<typeof configSchema>>;
export type TrustConfig = TollgateConfig['trust'][number];
export type { SessionKind, SessionPolicy, TrustRule, ProxyRoute };
export type ProxyConfig = NonNullable<TollgateConfig['proxy']>;
export type UpstreamAuth = NonNullable<ProxyConfig['upstreamAuth']>;
export type ClerkWebhookConfig = NonNullable<NonNullable<TollgateConfig['webhooks']>['clerk']>;
export type CorsConfig = NonNullable<TollgateConfig['cors']>;
export type RateLimitConfig = TollgateConfig['rateLimit'];
export type AwsConfig = TollgateConfig['aws'];
export type DpopConfig = TollgateConfig['dpop'];

/** Compile-time only: the schema produces the shapes the domain defines (`Actual` must fit `Expected`). */
type Fits<Actual extends Expected, Expected> = Actual;
export type SchemaProducesDomainShapes = [
  Fits<TrustConfig['kind'], SessionKind>,
  Fits<SessionKind, TrustConfig['kind']>,
  Fits<TrustConfig['rules'][number], TrustRule>,
  Fits<TrustConfig, TrustEntry>,
  Fits<TollgateConfig['sessions']['user'], SessionPolicy>,
  Fits<TollgateConfig['sessions']['ci'], SessionPolicy>,
  Fits<ProxyConfig['routes'][number], ProxyRoute>,
];

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/**
 * Validates a parsed config document. Returns frozen typed values or throws a
 * `ConfigError` listing every problem by path.
 */
export function loadConfig(document: unknown): TollgateConfig {
  const result = configSchema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => {
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      if (keys.length > 0) return keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
      return [`${formatPath(issue.path)}: ${issue.message}`];
    });
    throw new ConfigError(problems);
  }
  return deepFreeze(result.data) as TollgateConfig;
}

/** Parses JSON text, then validates it; a JSON syntax error is reported like any other problem. */
export function parseConfig(text: string, source = 'config'): TollgateConfig {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ConfigError([`${source}: not valid JSON (${(error as Error).message})`]);
  }
  return loadConfig(document);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
