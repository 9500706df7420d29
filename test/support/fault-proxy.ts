import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * How the proxy treats a request:
 * - `up`: forwards it and returns the answer;
 * - `refuse`: nothing listens on the port (connections are refused, ECONNREFUSED);
 * - `hang`: reads the request and never answers (the connection stays open);
 * - `reset`: resets the connection (TCP RST) once the request has arrived;
 * - `garbage`: answers bytes that are not HTTP, then closes;
 * - `lose-answer`: forwards the request (the store applies it), then resets
 *   the connection instead of returning the answer.
 */
export type FaultMode = 'up' | 'refuse' | 'hang' | 'reset' | 'garbage' | 'lose-answer';

/** One request seen: the AWS JSON-protocol operation (`X-Amz-Target`), its table or secret, and what the proxy did. */
export interface ProxiedCall {
  operation: string;
  /** `TableName` (DynamoDB) or `SecretId` (Secrets Manager) of the request body, when it has one. */
  target?: string;
  mode: FaultMode;
}

/** Decides per request, over the proxy's mode: `undefined` means "use the mode". */
export type FaultRule = (call: { operation: string; target?: string }) => Exclude<FaultMode, 'refuse'> | undefined;

export interface FaultProxy {
  endpoint: string;
  calls: ProxiedCall[];
  /** Switches every later request (and, for `refuse`, the listener) to `mode`. */
  setMode(mode: FaultMode): Promise<void>;
  /** Faults for requests the rule picks (e.g. only `PutItem` on the sessions table); `undefined` clears it. */
  failWhen(rule: FaultRule | undefined): void;
  close(): Promise<void>;
}

/**
 * A loopback proxy in front of an AWS JSON-protocol service (the DynamoDB
 * store, the Secrets Manager fake) that can refuse, hang, reset or garble
 * connections on demand, all of them or only some operations, so tests see
 * what Tollgate does when its dependencies break and that it recovers by
 * itself once they are back. It speaks HTTP/1.1 to read each request's
 * operation; faults are applied at the socket level.
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const calls: ProxiedCall[] = [];
  const held = new Set<Socket>();
  let mode: FaultMode = 'up';
  let rule: FaultRule | undefined;

  const handle = (incoming: IncomingMessage, outgoing: ServerResponse) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = String(incoming.headers['x-amz-target'] ?? '').split('.').at(-1) ?? '';
      let callTarget: string | undefined;
      try {
        const input = JSON.parse(body.toString('utf8') || '{}') as { TableName?: string; SecretId?: string };
        callTarget = input.TableName ?? input.SecretId;
      } catch {
        callTarget = undefined;
      }
      const chosen: FaultMode = rule?.({ operation, target: callTarget }) ?? (mode === 'refuse' ? 'reset' : mode);
      calls.push({ operation, target: callTarget, mode: chosen });
      const socket = incoming.socket;
      if (chosen === 'hang') {
        held.add(socket);
        socket.once('close', () => held.delete(socket));
        return;
      }
      if (chosen === 'reset') {
        socket.resetAndDestroy();
        return;
      }
      if (chosen === 'garbage') {
        socket.end('\x00\x01 this is not HTTP \xff\r\n\r\n');
        return;
      }
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, host: upstream.host } },
        (answer) => {
          if (chosen === 'lose-answer') {
            answer.resume();
            answer.on('end', () => socket.resetAndDestroy());
            return;
          }
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', () => outgoing.destroy());
      forward.end(body);
    });
  };

  let server: Server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  let listening = true;

  const stopListening = async () => {
    if (!listening) return;
    listening = false;
    for (const socket of held) socket.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  const listen = async () => {
    if (listening) return;
    server = createServer(handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    listening = true;
  };

  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    async setMode(next) {
      mode = next;
      if (next === 'refuse') await stopListening();
      else await listen();
      // Connections held by an earlier `hang` are let go (the client has given up on them by now).
      if (next !== 'hang') for (const socket of held) socket.destroy();
    },
    failWhen(next) {
      rule = next;
    },
    async close() {
      await stopListening();
    },
  };
}
