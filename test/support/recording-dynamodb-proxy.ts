import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DynamoCall {
  /** The caller's access key id, from its SigV4 Authorization header. */
  accessKeyId: string;
  /** `GetItem`, `UpdateItem`, … (the `X-Amz-Target` operation). */
  operation: string;
  tableName?: string;
  indexName?: string;
}

export interface RecordingDynamoProxy {
  endpoint: string;
  calls: DynamoCall[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy in front of a DynamoDB-protocol store that records who
 * called which operation on which table (and index), then forwards the request
 * unchanged. Tests give each function its own access key id and check every
 * recorded call against that function's IAM statements.
 */
export async function startRecordingDynamoProxy(target: string): Promise<RecordingDynamoProxy> {
  const upstream = new URL(target);
  const calls: DynamoCall[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      try {
        const input = JSON.parse(body.toString('utf8') || '{}') as { TableName?: string; IndexName?: string; RequestItems?: Record<string, unknown> };
        const accessKeyId = /Credential=([^/]+)\//.exec(String(incoming.headers.authorization))?.[1] ?? '';
        const operation = String(incoming.headers['x-amz-target'] ?? '').split('.').at(-1) ?? '';
        // Batch operations name their tables in RequestItems: one call per table, as IAM authorizes them.
        const tables = input.RequestItems ? Object.keys(input.RequestItems) : [input.TableName];
        for (const tableName of tables) calls.push({ accessKeyId, operation, tableName, indexName: input.IndexName });
      } catch {
        // Not JSON: forwarded all the same; the store answers it.
      }
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: upstream.host } },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', () => outgoing.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
