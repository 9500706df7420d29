import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Headers whose values are credentials: the echo shows a fingerprint, never the value. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key'];

/** Largest body the echo reads and shows. */
const MAX_ECHO_BODY_BYTES = 1024 * 1024;

export interface EchoUpstream {
  url: string;
  close(): Promise<void>;
}

/** `Bearer [masked sha256:1a2b3c4d]`: enough to tell two credentials apart, nothing to reuse. */
export function maskCredential(value: string): string {
  const space = value.indexOf(' ');
  const scheme = space > 0 && /^[A-Za-z]+$/.test(value.slice(0, space)) ? `${value.slice(0, space)} ` : '';
  const secret = scheme ? value.slice(space + 1) : value;
  return `${scheme}[masked sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 8)}]`;
}

/**
 * The built-in upstream of the local runtime (never deployed): answers every
 * request with a JSON description of what it received (method, raw path,
 * query, headers, body), so a newcomer sees exactly what an upstream gets
 * from the proxy: the identity headers, the injected credential (masked), and
 * none of the client's own credentials.
 */
export async function startEchoUpstream(options: { port?: number; credentialHeaders?: readonly string[] } = {}): Promise<EchoUpstream> {
  const masked = new Set([...CREDENTIAL_HEADERS, ...(options.credentialHeaders ?? []).map((name) => name.toLowerCase())]);
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_ECHO_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => {
      const rawUrl = request.url ?? '/';
      const queryAt = rawUrl.indexOf('?');
      const query: Record<string, string[]> = Object.create(null);
      for (const [name, value] of new URLSearchParams(queryAt === -1 ? '' : rawUrl.slice(queryAt + 1))) (query[name] ??= []).push(value);
      const headers: Record<string, string | string[]> = Object.create(null);
      for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
        const name = request.rawHeaders[i]!.toLowerCase();
        const value = masked.has(name) ? maskCredential(request.rawHeaders[i + 1]!) : request.rawHeaders[i + 1]!;
        const existing = headers[name];
        headers[name] = existing === undefined ? value : [...(Array.isArray(existing) ? existing : [existing]), value];
      }
      const bytes = Buffer.concat(chunks);
      let text: string | undefined;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        text = undefined;
      }
      const body = JSON.stringify(
        {
          method: request.method,
          path: queryAt === -1 ? rawUrl : rawUrl.slice(0, queryAt),
          query,
          headers,
          body: size > MAX_ECHO_BODY_BYTES ? { bytes: size, truncated: true } : text !== undefined ? { bytes: size, text } : { bytes: size, base64: bytes.toString('base64') },
        },
        null,
        2,
      );
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
      response.end(body);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
