import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { ADMIN_INDEXES_CONTEXT, SessionTables } from '../../cdk/session-tables';
import type { TollgateStack } from '../../cdk/tollgate-stack';
import { synthTollgate } from './synth-tollgate';
import { FULL_CONFIG } from './test-configs';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

/** The admin CLI's side of the stack (issue 18): its indexes and its managed policies. */
describe('operations: admin indexes and operator policies', () => {
  let template: Template;
  let stack: TollgateStack;
  const id = (construct: IConstruct) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
  const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [id(construct), 'Arn'] });

  beforeAll(() => {
    // Synthesizing runs cdk-nag and the CloudFormation rules: a finding would throw here.
    const synth = synthTollgate({ config: FULL_CONFIG });
    template = synth.template;
    stack = synth.stack;
  });

  function statementsOf(policy: IConstruct): Statement[] {
    const resource = template.findResources('AWS::IAM::ManagedPolicy')[id(policy)]!;
    return resource.Properties.PolicyDocument.Statement as Statement[];
  }

  it('indexes sessions by trust entry and by repository, each with the creation time as sort key, keys only', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'sid', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: Match.arrayWith([
        {
          IndexName: 'byTrust',
          KeySchema: [
            { AttributeName: 'trust', KeyType: 'HASH' },
            { AttributeName: 'sidCreatedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          IndexName: 'byRepository',
          KeySchema: [
            { AttributeName: 'repository', KeyType: 'HASH' },
            { AttributeName: 'sidCreatedAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
      ]),
    });
    const table = template.findResources('AWS::DynamoDB::Table')[id(stack.tables.sessions)]!;
    expect(table.Properties.AttributeDefinitions).toEqual(
      expect.arrayContaining([
        { AttributeName: 'trust', AttributeType: 'S' },
        { AttributeName: 'repository', AttributeType: 'S' },
        { AttributeName: 'sidCreatedAt', AttributeType: 'N' },
      ]),
    );
  });

  it(`adds only byTrust under -c ${ADMIN_INDEXES_CONTEXT}=byTrust (CloudFormation creates one GSI per update), keeping the table's construct id`, () => {
    const app = new App({ context: { [ADMIN_INDEXES_CONTEXT]: 'byTrust' } });
    const scope = new Stack(app, 'Upgrade');
    const tables = new SessionTables(scope, 'Tables');

    const indexes = Template.fromStack(scope).findResources('AWS::DynamoDB::Table')[scope.getLogicalId(tables.sessions.node.defaultChild as CfnElement)]!
      .Properties.GlobalSecondaryIndexes as { IndexName: string }[];

    expect(indexes.map((index) => index.IndexName)).toEqual(['bySubject', 'byUpstreamSid', 'byTrust']);
    expect(tables.sessions.node.id).toBe('Sessions');
  });

  it('outputs a read-only policy for sessions list/show: the stack, the index queries, item reads and scans of the sessions table, nothing else', () => {
    const sessionsArn = arnOf(stack.tables.sessions);
    const index = (name: string) => ({ 'Fn::Join': ['', [sessionsArn, `/index/${name}`]] });

    expect(statementsOf(stack.operatorPolicies.sessionsRead)).toEqual([
      { Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: { Ref: 'AWS::StackId' } },
      { Effect: 'Allow', Action: 'dynamodb:Query', Resource: expect.arrayContaining(['bySubject', 'byUpstreamSid', 'byTrust', 'byRepository'].map(index)) },
      { Effect: 'Allow', Action: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:Scan'], Resource: sessionsArn },
    ]);
    expect(statementsOf(stack.operatorPolicies.sessionsRead)[1]!.Resource).toHaveLength(4);
    template.hasOutput('OperatorSessionsReadPolicyArn', { Value: { Ref: id(stack.operatorPolicies.sessionsRead) } });
  });

  it('outputs a revoke policy: UpdateItem on the sessions table and PutMetricData in the Tollgate namespace only', () => {
    expect(statementsOf(stack.operatorPolicies.sessionsRevoke)).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: arnOf(stack.tables.sessions) },
      { Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'Tollgate' } } },
    ]);
    template.hasOutput('OperatorSessionsRevokePolicyArn', { Value: { Ref: id(stack.operatorPolicies.sessionsRevoke) } });
  });

  it('outputs a keys policy: describe, read and rotate the signing key secret only', () => {
    expect(statementsOf(stack.operatorPolicies.keys)).toEqual([
      { Effect: 'Allow', Action: 'cloudformation:DescribeStacks', Resource: { Ref: 'AWS::StackId' } },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:RotateSecret'],
        Resource: { Ref: id(stack.signingKeys.secret) },
      },
    ]);
    template.hasOutput('OperatorKeysPolicyArn', { Value: { Ref: id(stack.operatorPolicies.keys) } });
  });

  it('grants no operator policy anything on the guards table', () => {
    const guards = JSON.stringify(arnOf(stack.tables.guards));
    for (const policy of [stack.operatorPolicies.sessionsRead, stack.operatorPolicies.sessionsRevoke, stack.operatorPolicies.keys]) {
      expect(JSON.stringify(statementsOf(policy))).not.toContain(guards);
    }
  });
});
