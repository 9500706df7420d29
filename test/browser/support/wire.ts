import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What happens to the answer of the next refresh request: forwarded, lost (connection reset), or cut mid-body. */
export type RefreshFault = 'lose-answer' | 'cut-body';

/** One request the page sent to Tollgate, as the wire saw it. */
export interface WireCall {
  method: string;
  path: string;
  origin?: string;
  /** `grant_type` of a `/token` POST. */
  grant?: string;
  /** The session a refresh presented (the `<sid>` of `tgr_<sid>.<secret>`). */
  sid?: string;
  status?: number;
  fault?: RefreshFault;
}

export interface Wire {
  url: string;
  calls: WireCall[];
  refreshes(): WireCall[];
  exchanges(): WireCall[];
  /** The answer of the next `refresh_token` grant is lost or cut after the server has acted on it. */
  faultNextRefresh(fault: RefreshFault): void;
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy between the page and the local Tollgate: every
 * request the browser sends to Tollgate crosses it, so the suite counts
 * exchanges and refreshes as the server receives them, and can lose or cut
 * the answer of a refresh the server has already applied (a mobile network
 * dropping the connection). The `Host` header passes unchanged, so DPoP
 * proofs made for this URL verify at Tollgate.
 */
export async function startWire(target: string): Promise<Wire> {
  const upstream = new URL(target);
  const calls: WireCall[] = [];
  let nextFault: RefreshFault | undefined;

  const server: Server = createServer((incoming: IncomingMessage, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const call: WireCall = { method: incoming.method ?? 'GET', path: incoming.url ?? '/', origin: incoming.headers.origin };
      if (call.method === 'POST' && call.path === '/token') {
        const form = new URLSearchParams(body.toString('utf8'));
        call.grant = form.get('grant_type') ?? undefined;
        call.sid = /^tgr_([^.]+)\./.exec(form.get('refresh_token') ?? '')?.[1];
        if (call.grant === 'refresh_token' && nextFault) {
          call.fault = nextFault;
          nextFault = undefined;
        }
      }
      calls.push(call);
      const forward = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: incoming.method, path: incoming.url, headers: incoming.headers },
        (answer) => {
          call.status = answer.statusCode;
          if (call.fault === 'lose-answer') {
            answer.resume();
            answer.on('end', () => incoming.socket.resetAndDestroy());
            return;
          }
          if (call.fault === 'cut-body') {
            const parts: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => parts.push(chunk));
            answer.on('end', () => {
              const full = Buffer.concat(parts);
              // The status line, the headers (CORS included) and half the body, then the connection drops.
              outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
              outgoing.write(full.subarray(0, Math.floor(full.length / 2)));
              setTimeout(() => incoming.socket.resetAndDestroy(), 20);
            });
            return;
          }
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
        },
      );
      forward.on('error', () => outgoing.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    refreshes: () => calls.filter((call) => call.grant === 'refresh_token'),
    exchanges: () => calls.filter((call) => call.grant === 'urn:ietf:params:oauth:grant-type:token-exchange'),
    faultNextRefresh(fault) {
      nextFault = fault;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
