import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Loopback fakes of the three AWS APIs the admin CLI calls besides DynamoDB
 * and Secrets Manager, on one port (the SDK reaches them through
 * `AWS_ENDPOINT_URL_<SERVICE>`): CloudFormation `DescribeStacks` and STS
 * `GetCallerIdentity` (awsQuery: form body, XML answer) and CloudWatch
 * `PutMetricData` (awsJson1_0). Every call records the access key id of its
 * SigV4 Authorization header. Not checked: signatures, IAM.
 */
export interface FakeAws {
  endpoint: string;
  /** Stack name → outputs. */
  stacks: Map<string, Record<string, string>>;
  /** The ARN GetCallerIdentity answers, or `denied` for a 403 AccessDenied. */
  caller: string | 'denied';
  /** PutMetricData inputs received. */
  metrics: Record<string, unknown>[];
  calls: { service: string; operation: string; accessKeyId: string }[];
  close(): Promise<void>;
}

const xmlEscape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export async function startFakeAws(): Promise<FakeAws> {
  const fake: Omit<FakeAws, 'endpoint' | 'close'> = { stacks: new Map(), caller: 'arn:aws:sts::123456789012:assumed-role/oncall/alice', metrics: [], calls: [] };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const accessKeyId = /Credential=([^/]+)\//.exec(String(request.headers.authorization ?? ''))?.[1] ?? '';
      const xml = (status: number, text: string) => {
        response.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
        response.end(text);
      };
      const queryError = (status: number, code: string, message: string) =>
        xml(status, `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);

      const target = String(request.headers['x-amz-target'] ?? '');
      if (target.startsWith('GraniteServiceVersion20100801.')) {
        const operation = target.split('.')[1]!;
        fake.calls.push({ service: 'cloudwatch', operation, accessKeyId });
        if (operation === 'PutMetricData') fake.metrics.push(JSON.parse(body) as Record<string, unknown>);
        response.writeHead(operation === 'PutMetricData' ? 200 : 400, { 'content-type': 'application/x-amz-json-1.0' });
        response.end(operation === 'PutMetricData' ? '{}' : JSON.stringify({ __type: 'UnknownOperationException' }));
        return;
      }
      const form = new URLSearchParams(body);
      const action = form.get('Action') ?? '';
      if (action === 'GetCallerIdentity') {
        fake.calls.push({ service: 'sts', operation: action, accessKeyId });
        if (fake.caller === 'denied') return queryError(403, 'AccessDenied', 'User is not authorized to perform: sts:GetCallerIdentity');
        return xml(
          200,
          `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>${xmlEscape(fake.caller)}</Arn><UserId>AROAEXAMPLE:alice</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
      }
      if (action === 'DescribeStacks') {
        fake.calls.push({ service: 'cloudformation', operation: action, accessKeyId });
        const name = form.get('StackName') ?? '';
        const outputs = fake.stacks.get(name);
        if (!outputs) return queryError(400, 'ValidationError', `Stack with id ${name} does not exist`);
        const members = Object.entries(outputs)
          .map(([key, value]) => `<member><OutputKey>${xmlEscape(key)}</OutputKey><OutputValue>${xmlEscape(value)}</OutputValue></member>`)
          .join('');
        return xml(
          200,
          `<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult><Stacks><member><StackName>${xmlEscape(name)}</StackName><StackId>arn:aws:cloudformation:eu-west-1:123456789012:stack/${xmlEscape(name)}/1</StackId><CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus><Outputs>${members}</Outputs></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`,
        );
      }
      queryError(400, 'InvalidAction', `unsupported ${action || target}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    endpoint,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
