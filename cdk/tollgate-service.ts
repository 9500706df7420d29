import { Construct } from 'constructs';
import { SESSION_INDEXES } from '../src/contract/tables';
import type { TollgateConfigInput } from '../src/config/config';
import { WellKnownPaths } from '../src/contract/well-known';
import { ApiFunctions } from './api-functions';
import { deployConfigFromText, loadDeployConfig, type DeployConfig } from '../src/config/deploy-config';
import { Monitoring } from './monitoring';
import { OperatorPolicies } from './operator-policies';
import { SessionTables } from './session-tables';
import { SigningKeys } from './signing-keys';
import { TollgateApi } from './tollgate-api';

export interface TollgateServiceProps {
  /**
   * The Tollgate config file (README "Config"; the same file `npm start` and
   * `tollgate config check` read), validated at synth: every problem is
   * reported by its path in a `ConfigError` and nothing is synthesized.
   * Exactly one of `configFile`, `config` and `deployConfig`.
   */
  readonly configFile?: string;
  /** The config document itself (what the file would hold), validated the same way. */
  readonly config?: TollgateConfigInput;
  /** A config already validated by `loadDeployConfig` / `deployConfigFromText`. */
  readonly deployConfig?: DeployConfig;
  /**
   * The folder of the prebuilt function assets (`<function>/index.mjs`).
   * @default the assets inside the installed package (`tollgate/dist/assets`)
   */
  readonly assetsDirectory?: string;
}

/**
 * The whole Tollgate service, to embed in any stack: the session tables, the
 * signing keys and their rotation, the API (REST, one stage, throttled,
 * access-logged), one least-privilege function per job behind it, the
 * operators' managed policies, and the monitoring (alarms, dashboard).
 * Deploy-only settings come from the config's `aws` key.
 *
 * The functions are the prebuilt bundles shipped in the package: a synth
 * needs neither esbuild, Docker, Tollgate's sources nor a lock file.
 *
 * Construct ids of stateful resources (`Tables/Sessions`, `Tables/Guards`,
 * `SigningKeys/Secret`) never change. `TollgateStack` places this construct
 * with the id `Default`, which CDK leaves out of logical ids, so a stack
 * deployed before the construct existed keeps every resource.
 *
 * @example
 * new TollgateService(stack, 'Tollgate', { configFile: 'tollgate.config.json' });
 */
export class TollgateService extends Construct {
  readonly deployConfig: DeployConfig;
  readonly tables: SessionTables;
  readonly signingKeys: SigningKeys;
  readonly operatorPolicies: OperatorPolicies;
  readonly api: TollgateApi;
  readonly functions: ApiFunctions;
  readonly monitoring: Monitoring;
  /** The base URL clients call: the custom domain, else the stage's execute-api URL. */
  readonly apiUrl: string;
  /** The `iss` of every access token: the config's `issuer`, else `apiUrl`. */
  readonly issuer: string;
  /** Authorization server metadata (RFC 8414), relative to the issuer. */
  readonly metadataUrl: string;
  /** Tollgate's public signing keys, for verifiers (`tollgate/verify`, `TollgateAuthorizer`). */
  readonly jwksUrl: string;

  constructor(scope: Construct, id: string, props: TollgateServiceProps) {
    super(scope, id);
    this.deployConfig = resolveDeployConfig(props);
    const { config, functionConfigJson, functionConfigStamp, secretIds } = this.deployConfig;
    const { aws } = config;
    const assetsDirectory = props.assetsDirectory;

    this.tables = new SessionTables(this, 'Tables');
    this.signingKeys = new SigningKeys(this, 'SigningKeys', {
      assetsDirectory,
      functionConfigJson,
      functionConfigStamp,
      logRetentionDays: aws.logRetentionDays,
      rotationDays: aws.keyRotationDays,
    });
    this.operatorPolicies = new OperatorPolicies(this, 'OperatorPolicies', { sessions: this.tables.sessions, signingKeysSecret: this.signingKeys.secret });
    // API Gateway's own answers (throttling, 4xx/5xx defaults) carry the same CORS origins as the functions' (`gatewayCorsHeaders`).
    this.api = new TollgateApi(this, 'Http', { aws, cors: config.cors ?? config.proxy?.cors });
    this.functions = new ApiFunctions(this, 'Functions', {
      assetsDirectory,
      config,
      functionConfigJson,
      functionConfigStamp,
      publicBaseUrl: this.api.publicBaseUrl,
      tables: this.tables,
      signingKeys: this.signingKeys,
      secretIds,
      logRetentionDays: aws.logRetentionDays,
    });
    this.api.addRoutes(this.functions.functions);

    this.monitoring = new Monitoring(this, 'Monitoring', {
      api: this.api,
      functions: { ...this.functions.functions, rotation: this.signingKeys.rotation },
      tables: { sessions: this.tables.sessions, guards: this.tables.guards },
      sessionIndexes: Object.values(SESSION_INDEXES),
      proxyRouteIds: config.proxy ? config.proxy.routes.map((route, index) => route.name ?? String(index)) : [],
      alarmEmail: aws.alarmEmail,
    });

    this.apiUrl = this.api.publicBaseUrl;
    this.issuer = config.issuer?.replace(/\/+$/, '') ?? this.api.publicBaseUrl;
    // The same URLs the metadata document names (both relative to the issuer).
    this.metadataUrl = `${this.issuer}${WellKnownPaths.metadata}`;
    this.jwksUrl = `${this.issuer}${WellKnownPaths.jwks}`;
  }
}

function resolveDeployConfig(props: TollgateServiceProps): DeployConfig {
  const given = [props.configFile, props.config, props.deployConfig].filter((value) => value !== undefined);
  if (given.length !== 1) throw new Error('TollgateService: give exactly one of configFile, config and deployConfig');
  if (props.deployConfig) return props.deployConfig;
  if (props.configFile !== undefined) return loadDeployConfig(props.configFile);
  return deployConfigFromText(JSON.stringify(props.config), 'TollgateService config');
}
