import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { REFRESH_FUNCTION_TIMEOUT_SECONDS, REFRESH_INVOKE_TIMEOUT_MS } from '../src/contract/refresh-function';
import { SESSION_INDEXES } from '../src/contract/tables';
import type { FunctionName } from '../src/contract/routes';
import type { TollgateConfig } from '../src/config/config';
import { EnvNames } from '../src/contract/env-names';
import type { SecretReader } from '../src/config/deploy-config';
import type { SessionTables } from './session-tables';
import type { SigningKeys } from './signing-keys';
import type { FunctionAsset } from './function-assets';
import { TollgateFunction } from './tollgate-function';

export interface ApiFunctionsProps {
  /** The prebuilt function assets. @default the package's own (see `TollgateFunction`) */
  assetsDirectory?: string;
  config: TollgateConfig;
  /** The config the functions receive (`TOLLGATE_CONFIG_JSON`). */
  functionConfigJson: string;
  /** Its stamp (`TOLLGATE_CONFIG_STAMP`, see `DeployConfig.functionConfigStamp`): the functions refuse a config without it. */
  functionConfigStamp: string;
  /** The URL the API is served on (`TOLLGATE_PUBLIC_BASE_URL`; the issuer when the config sets none). */
  publicBaseUrl: string;
  tables: SessionTables;
  signingKeys: SigningKeys;
  /** Secrets Manager ids (names or ARNs) each function reads through secret refs. */
  secretIds: Record<SecretReader, readonly string[]>;
  logRetentionDays: number;
}

/**
 * One function per job behind the API, each with a role granting exactly the
 * calls its code makes (the statements are spelled out below and asserted in
 * test/cdk/):
 *
 * | function | sessions table | guards table | secrets | other |
 * |---|---|---|---|---|
 * | token (exchange) | PutItem | PutItem, DeleteItem (single-use markers); GetItem, UpdateItem (rate-limit counters); BatchGetItem (webhook markers)¹ | signing keys: GetSecretValue | lambda:InvokeFunction on refresh |
 * | refresh | GetItem, UpdateItem | BatchGetItem (webhook markers)¹; PutItem of `dpop#…` keys only (DPoP proof markers) | signing keys | — |
 * | verify | GetItem | — | signing keys | — |
 * | revoke | GetItem, UpdateItem | — | signing keys | — |
 * | metadata | — | — | signing keys | — |
 * | proxy | GetItem | GetItem, UpdateItem (rate-limit counters); PutItem of `dpop#…` keys only (DPoP proof markers) | signing keys, upstream credentials | — |
 * | clerkWebhook | Query on the bySubject and byUpstreamSid indexes, UpdateItem | PutItem, DeleteItem (delivery markers) | its Svix signing secret | — |
 *
 * ¹ Only with `webhooks.clerk`: exchange and refresh of the trusts it governs
 * check the markers its deliveries leave; without it nothing is read.
 *
 * `refresh_token` grants reach the token function (standard clients use one
 * token endpoint); it hands them to the refresh function (see
 * `src/lambda/token.ts`), so it never holds UpdateItem on sessions.
 *
 * The proxy function exists only when the config has a `proxy` section, the
 * Clerk webhook function only with `webhooks.clerk`. A new function is one
 * more `make` here with its statements, and its route in `src/contract/routes.ts`.
 */
export class ApiFunctions extends Construct {
  readonly functions: Partial<Record<FunctionName, TollgateFunction>>;

  constructor(scope: Construct, id: string, props: ApiFunctionsProps) {
    super(scope, id);
    const { sessions, guards } = props.tables;
    const environment = {
      [EnvNames.configJson]: props.functionConfigJson,
      [EnvNames.configStamp]: props.functionConfigStamp,
      [EnvNames.publicBaseUrl]: props.publicBaseUrl,
      [EnvNames.sessionsTable]: sessions.tableName,
      [EnvNames.guardsTable]: guards.tableName,
      [EnvNames.signingKeysSecretId]: props.signingKeys.secret.secretArn,
    };
    type Options = { timeout?: Duration; memorySize?: number; environment?: Record<string, string>; signingKeys?: boolean };
    const make = (name: FunctionName, entry: FunctionAsset, description: string, options: Options = {}) => {
      const fn = new TollgateFunction(this, name.charAt(0).toUpperCase() + name.slice(1), {
        assetsDirectory: props.assetsDirectory,
        entry,
        description,
        environment: options.environment ?? environment,
        logRetentionDays: props.logRetentionDays,
        timeout: options.timeout,
        memorySize: options.memorySize,
      });
      if (options.signingKeys !== false) props.signingKeys.grantRead(fn);
      return fn;
    };
    const readSecrets = (fn: TollgateFunction, ids: readonly string[]) => {
      if (ids.length === 0) return;
      fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ids.map((id) => secretArnFor(this, id)) }));
    };

    const webhookMarkers = props.config.webhooks?.clerk ? ['BatchGetItem'] : [];
    const refresh = make('refresh', 'refresh', 'Tollgate: POST /token refresh_token grants (handed over by the token function)', {
      timeout: Duration.seconds(REFRESH_FUNCTION_TIMEOUT_SECONDS),
    });
    allow(refresh, sessions, 'GetItem', 'UpdateItem');
    if (webhookMarkers.length > 0) allow(refresh, guards, ...webhookMarkers);
    // A DPoP-bound session's refresh checks a proof, whose jti is recorded once.
    allowDpopMarkers(refresh, guards);

    const token = make('token', 'token', 'Tollgate: POST /token token exchange (RFC 8693)', {
      // Longer than its wait for the refresh function, so that wait ends first.
      timeout: Duration.millis(REFRESH_INVOKE_TIMEOUT_MS + 3_000),
      environment: { ...environment, [EnvNames.refreshFunctionName]: refresh.fn.functionName },
    });
    // GetItem and DeleteItem: an exchange whose write answer was lost looks at the item and, answering 503, undoes its
    // own write (conditional on its write id; docs/token-service.md, "Lost answers"). PutItem already reaches every item.
    allow(token, sessions, 'PutItem', 'GetItem', 'DeleteItem');
    allow(token, guards, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', ...webhookMarkers);
    token.role.addToPrincipalPolicy(new PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [refresh.fn.functionArn] }));

    const verify = make('verify', 'verify', 'Tollgate: POST /verify token introspection (RFC 7662)');
    allow(verify, sessions, 'GetItem');

    const revoke = make('revoke', 'revoke', 'Tollgate: POST /revoke session revocation (RFC 7009)');
    allow(revoke, sessions, 'GetItem', 'UpdateItem');

    const metadata = make('metadata', 'metadata', 'Tollgate: authorization server metadata (RFC 8414) and JWKS');

    this.functions = { token, refresh, verify, revoke, metadata };

    if (props.config.proxy) {
      const proxy = make('proxy', 'proxy', 'Tollgate: bearer-validated proxy to the upstream API', {
        // A streamed answer may run as long as API Gateway streams one (15 minutes); the upstream's headers must come within
        // proxy.timeoutMs and its body may not go quiet for longer than proxy.responseIdleTimeoutMs (docs/proxy.md).
        timeout: Duration.minutes(15),
        memorySize: 1024,
      });
      allow(proxy, sessions, 'GetItem');
      allow(proxy, guards, 'GetItem', 'UpdateItem');
      allowDpopMarkers(proxy, guards);
      readSecrets(proxy, props.secretIds.proxy);
      this.functions.proxy = proxy;
    }

    if (props.config.webhooks?.clerk) {
      // No signing keys, no issuer URL: this function never issues or verifies a token.
      const clerkWebhook = make('clerkWebhook', 'clerk-webhook', 'Tollgate: POST /webhooks/clerk ends sessions Clerk ended (Svix-signed)', {
        environment: {
          [EnvNames.configJson]: props.functionConfigJson,
          [EnvNames.configStamp]: props.functionConfigStamp,
          [EnvNames.sessionsTable]: sessions.tableName,
          [EnvNames.guardsTable]: guards.tableName,
        },
        signingKeys: false,
      });
      clerkWebhook.role.addToPrincipalPolicy(
        new PolicyStatement({
          actions: ['dynamodb:Query'],
          resources: [SESSION_INDEXES.bySubject, SESSION_INDEXES.byUpstreamSid].map((index) => `${sessions.tableArn}/index/${index}`),
        }),
      );
      // GetItem: a write whose answer was lost is looked up by its write id (ending sessions, marking deliveries), and each
      // session the upstream-sid index returns is read for its trust entry (a webhook ends only the entries it governs).
      allow(clerkWebhook, sessions, 'UpdateItem', 'GetItem');
      allow(clerkWebhook, guards, 'PutItem', 'DeleteItem', 'GetItem');
      readSecrets(clerkWebhook, props.secretIds.clerkWebhook);
      this.functions.clerkWebhook = clerkWebhook;
    }
  }
}

/** One statement: these DynamoDB actions on this table (never its indexes unless a Query needs them). */
function allow(fn: TollgateFunction, table: ITable, ...actions: string[]): void {
  fn.role.addToPrincipalPolicy(new PolicyStatement({ actions: actions.map((action) => `dynamodb:${action}`), resources: [table.tableArn] }));
}

/**
 * PutItem of DPoP proof markers only (RFC 9449 §11.1 `jti` replay, keys `dpop#…`,
 * see src/domain/dpop-proof.ts): functions that must not write anything else there.
 * GetItem of the same keys: a marker whose write answer was lost is looked up by its write id.
 */
function allowDpopMarkers(fn: TollgateFunction, guards: ITable): void {
  fn.role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['dynamodb:PutItem', 'dynamodb:GetItem'],
      resources: [guards.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['dpop#*'] } },
    }),
  );
}

/**
 * The IAM resource for a secret named in a `aws-secretsmanager:` ref. A full
 * ARN is used as is; a name gets Secrets Manager's random six-character
 * suffix as `-??????` (the secret's ARN is not known until it exists).
 */
export function secretArnFor(scope: Construct, id: string): string {
  if (id.startsWith('arn:')) return /-[A-Za-z0-9]{6}$/.test(id) ? id : `${id}-??????`;
  return Stack.of(scope).formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: `${id}-??????`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
}
