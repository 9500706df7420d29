/** The account the artifact test pretends to deploy into. */
export const FAKE_AWS = { region: 'us-east-1', account: '123456789012', partition: 'aws', urlSuffix: 'amazonaws.com' } as const;

type Json = unknown;
type Resource = { Type: string; Properties?: Record<string, Json> };
export type Template = { Resources: Record<string, Resource> };

export interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

export interface TemplateFunction {
  logicalId: string;
  /** The physical name given to it here (its logical id). */
  name: string;
  arn: string;
  handler: string;
  runtime: string;
  timeoutSeconds: number;
  memorySize: number;
  /** The `Code.S3Key` asset hash (the asset directory is `asset.<hash>`). */
  assetHash: string;
  /** Environment variables with every intrinsic resolved to this fake deployment's values. */
  environment: Record<string, string>;
  roleLogicalId: string;
}

/**
 * A synthesized template "deployed" onto local stand-ins: each resource gets
 * a physical id (tables the local store's table names, the secret the fake
 * Secrets Manager's ARN, functions their logical id as name), and the
 * intrinsics the template uses (Ref, Fn::GetAtt …Arn, Fn::Join and the
 * pseudo parameters) resolve against them. An intrinsic it does not know is
 * an error, so a template change cannot slip past the artifact test.
 */
export class DeployedTemplate {
  private readonly physical = new Map<string, string>();

  constructor(
    readonly template: Template,
    physicalIds: Record<string, string>,
  ) {
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      this.physical.set(logicalId, physicalIds[logicalId] ?? (resource.Type === 'AWS::ApiGateway::RestApi' ? 'tollgatetest' : logicalId));
    }
  }

  logicalIdsOfType(type: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([logicalId]) => logicalId);
  }

  ref(logicalId: string): string {
    const value = this.physical.get(logicalId);
    if (value === undefined) throw new Error(`no resource ${logicalId}`);
    return value;
  }

  arn(logicalId: string): string {
    const resource = this.template.Resources[logicalId];
    const name = this.ref(logicalId);
    const { region, account, partition } = FAKE_AWS;
    switch (resource?.Type) {
      case 'AWS::DynamoDB::Table':
        return `arn:${partition}:dynamodb:${region}:${account}:table/${name}`;
      case 'AWS::Lambda::Function':
        return `arn:${partition}:lambda:${region}:${account}:function:${name}`;
      case 'AWS::Logs::LogGroup':
        return `arn:${partition}:logs:${region}:${account}:log-group:${name}:*`;
      case 'AWS::SecretsManager::Secret':
        return name;
      default:
        throw new Error(`no ARN for ${logicalId} (${resource?.Type})`);
    }
  }

  resolve(value: Json): Json {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [key, argument] = entries[0]!;
      if (key === 'Ref') return this.resolveRef(argument as string);
      if (key === 'Fn::GetAtt') {
        const [logicalId, attribute] = argument as [string, string];
        if (attribute !== 'Arn') throw new Error(`unsupported Fn::GetAtt ${logicalId}.${attribute}`);
        return this.arn(logicalId);
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = argument as [string, Json[]];
        return parts.map((part) => String(this.resolve(part))).join(separator);
      }
      if (key.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${key}`);
    }
    return Object.fromEntries(entries.map(([key, inner]) => [key, this.resolve(inner)]));
  }

  private resolveRef(name: string): string {
    switch (name) {
      case 'AWS::Region':
        return FAKE_AWS.region;
      case 'AWS::AccountId':
        return FAKE_AWS.account;
      case 'AWS::Partition':
        return FAKE_AWS.partition;
      case 'AWS::URLSuffix':
        return FAKE_AWS.urlSuffix;
      default:
        if (name.startsWith('AWS::')) throw new Error(`unsupported pseudo parameter ${name}`);
        return this.ref(name);
    }
  }

  functions(): TemplateFunction[] {
    return this.logicalIdsOfType('AWS::Lambda::Function').map((logicalId) => {
      const properties = this.template.Resources[logicalId]!.Properties!;
      const role = properties.Role as { 'Fn::GetAtt': [string, string] };
      const variables = ((properties.Environment as { Variables?: Record<string, Json> } | undefined)?.Variables ?? {}) as Record<string, Json>;
      return {
        logicalId,
        name: this.ref(logicalId),
        arn: this.arn(logicalId),
        handler: properties.Handler as string,
        runtime: properties.Runtime as string,
        timeoutSeconds: (properties.Timeout as number | undefined) ?? 3,
        memorySize: (properties.MemorySize as number | undefined) ?? 128,
        assetHash: String((properties.Code as { S3Key: string }).S3Key).replace(/\.zip$/, ''),
        environment: Object.fromEntries(Object.entries(variables).map(([key, inner]) => [key, String(this.resolve(inner))])),
        roleLogicalId: role['Fn::GetAtt'][0],
      };
    });
  }

  /** Every statement of the policies attached to a role, intrinsics resolved. */
  statementsOf(roleLogicalId: string): Statement[] {
    return this.logicalIdsOfType('AWS::IAM::Policy').flatMap((logicalId) => {
      const properties = this.template.Resources[logicalId]!.Properties!;
      const roles = properties.Roles as { Ref: string }[];
      if (!roles.some((role) => role.Ref === roleLogicalId)) return [];
      return this.resolve((properties.PolicyDocument as { Statement: Json[] }).Statement) as Statement[];
    });
  }

  /** Whether the role's statements allow `action` on `resource` (IAM's `*` and `?` wildcards; no Deny statements exist here). */
  allows(roleLogicalId: string, action: string, resource: string): boolean {
    return this.statementsOf(roleLogicalId).some(
      (statement) =>
        statement.Effect === 'Allow' &&
        [statement.Action].flat().some((pattern) => wildcard(pattern).test(action)) &&
        [statement.Resource].flat().some((pattern) => wildcard(pattern).test(resource)),
    );
  }
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}
