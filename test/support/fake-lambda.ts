import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FakeFunction = (payload: unknown) => Promise<unknown>;

/**
 * A loopback fake of the Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`,
 * request-response), standing in for the real service, which these tests
 * cannot reach. A registered function's result is the response payload; a
 * function that throws answers as Lambda does for an unhandled error (200
 * with `X-Amz-Function-Error: Unhandled`). An unknown name is a 404
 * `ResourceNotFoundException`; `throttle()` makes every call a 429
 * `TooManyRequestsException`. Signatures are not checked beyond requiring a
 * SigV4 Authorization header.
 */
export interface FakeLambda {
  endpoint: string;
  register(name: string, fn: FakeFunction): void;
  throttle(on: boolean): void;
  /** Invocations served, by function name. */
  invocations: string[];
  /** Every invocation: the caller's access key id (from its SigV4 Authorization header) and the function name it asked for. */
  calls: { accessKeyId: string; functionName: string }[];
  close(): Promise<void>;
}

export async function startFakeLambda(): Promise<FakeLambda> {
  const functions = new Map<string, FakeFunction>();
  const invocations: string[] = [];
  const calls: FakeLambda['calls'] = [];
  let throttled = false;

  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const reply = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomUUID(), ...headers });
        response.end(JSON.stringify(body));
      };
      const error = (status: number, type: string, message: string) => reply(status, { Type: 'User', message }, { 'x-amzn-errortype': type });
      const match = (request.url ?? '').match(/^\/2015-03-31\/functions\/([^/]+)\/invocations(\?.*)?$/);
      if (request.method !== 'POST' || !match) return error(404, 'UnknownOperationException', 'unsupported operation');
      if (!String(request.headers.authorization ?? '').startsWith('AWS4-HMAC-SHA256 ')) return error(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
      const name = decodeURIComponent(match[1]!);
      calls.push({ accessKeyId: /Credential=([^/]+)\//.exec(String(request.headers.authorization))?.[1] ?? '', functionName: name });
      const fn = functions.get(name) ?? functions.get(name.split(':').at(-1)!);
      if (!fn) return error(404, 'ResourceNotFoundException', `Function not found: ${name}`);
      if (throttled) return error(429, 'TooManyRequestsException', 'Rate Exceeded.');
      invocations.push(name);
      let payload: unknown;
      try {
        payload = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
      } catch {
        return error(400, 'InvalidRequestContentException', 'Could not parse request body into json');
      }
      fn(payload).then(
        (result) => reply(200, result ?? null, { 'x-amz-executed-version': '$LATEST' }),
        (failure: Error) =>
          reply(200, { errorType: failure?.name ?? 'Error', errorMessage: failure?.message ?? String(failure) }, { 'x-amz-function-error': 'Unhandled', 'x-amz-executed-version': '$LATEST' }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    calls,
    register: (name, fn) => functions.set(name, fn),
    throttle: (on) => {
      throttled = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
