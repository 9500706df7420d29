import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startPerAccountStore, type PerAccountStore } from './per-account-store';
import { freePort } from '../support/free-port';

/**
 * `npm start` as a user meets it (`tsx src/local/main.ts`, a process of its
 * own): it answers the first request that reaches its port (issue 13.9), and
 * against a DynamoDB endpoint that keeps a database per access key and region
 * (DynamoDB Local without `-sharedDb`), with a real region and keys in the
 * shell, the tables and the service use one client configuration (13.10).
 */

const ROOT = resolve(__dirname, '../..');
const TSX = join(ROOT, 'node_modules/.bin/tsx');
const READY_LINE = 'Tollgate is listening on';
const START_DEADLINE_MS = 45_000;

interface Started {
  child: ChildProcess;
  port: number;
  stdout(): string;
  stderr(): string;
}

/** Spawns `npm start`'s command with a fresh data dir, the given environment over the test's, and no config or store of the test's. */
async function startTollgate(env: Record<string, string> = {}): Promise<Started> {
  const port = await freePort();
  const base = { ...process.env };
  for (const name of ['TOLLGATE_CONFIG', 'DYNAMODB_ENDPOINT', 'AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete base[name];
  const child = spawn(TSX, ['src/local/main.ts'], {
    cwd: ROOT,
    env: { ...base, PORT: String(port), TOLLGATE_DATA_DIR: mkdtempSync(join(tmpdir(), 'tollgate-start-')), POWERTOOLS_LOG_LEVEL: 'ERROR', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { child, port, stdout: () => out, stderr: () => err };
}

function stop(started: Started | undefined): Promise<void> {
  if (!started || started.child.exitCode !== null) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => started.child.kill('SIGKILL'), 5_000);
    started.child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    started.child.kill('SIGTERM');
  });
}

/** Connects the moment the port accepts (retrying every 5 ms), bounded by the start deadline. */
async function connectWhenAccepting(started: Started): Promise<{ socket: Socket; readyPrinted: boolean }> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while (Date.now() < deadline) {
    if (started.child.exitCode !== null) throw new Error(`npm start exited: ${started.stderr()}`);
    const socket = await new Promise<Socket | undefined>((done) => {
      const attempt = connect(started.port, '127.0.0.1');
      attempt.once('connect', () => done(attempt));
      attempt.once('error', () => done(undefined));
    });
    if (socket) return { socket, readyPrinted: started.stdout().includes(READY_LINE) };
    await new Promise((wait) => setTimeout(wait, 5));
  }
  throw new Error('npm start never accepted a connection');
}

/** Sends one HTTP/1.1 request on the socket and resolves the status line, or undefined when nothing came within `ms`. */
function firstStatusLine(socket: Socket, request: string, ms: number): Promise<string | undefined> {
  return new Promise((done) => {
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      done(undefined);
    }, ms);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\r\n');
      if (end !== -1) {
        clearTimeout(timer);
        socket.destroy();
        done(received.slice(0, end));
      }
    });
    socket.on('error', () => undefined);
    socket.write(request);
  });
}

async function waitForReadyLine(started: Started): Promise<string> {
  const deadline = Date.now() + START_DEADLINE_MS;
  while (!started.stdout().includes(READY_LINE)) {
    if (started.child.exitCode !== null || Date.now() > deadline) throw new Error(`no readiness line: ${started.stderr()}`);
    await new Promise((wait) => setTimeout(wait, 20));
  }
  return /Tollgate is listening on (\S+)/.exec(started.stdout())![1]!;
}

describe('npm start', () => {
  let started: Started | undefined;
  let store: PerAccountStore | undefined;

  afterEach(async () => {
    await stop(started);
    started = undefined;
    await store?.close();
    store = undefined;
  });

  it('answers a request sent the moment its port accepts connections (it listens last)', async () => {
    started = await startTollgate();

    const { socket } = await connectWhenAccepting(started);
    const status = await firstStatusLine(socket, `GET /.well-known/oauth-authorization-server HTTP/1.1\r\nHost: 127.0.0.1:${started.port}\r\nConnection: close\r\n\r\n`, 15_000);

    expect(status).toBe('HTTP/1.1 200 OK');
    const url = await waitForReadyLine(started);
    expect(url).toBe(`http://127.0.0.1:${started.port}`);
  }, 60_000);

  it('prints its readiness line only once a request can be served', async () => {
    started = await startTollgate();

    const url = await waitForReadyLine(started);
    const answer = await fetch(`${url}/.well-known/jwks.json`, { signal: AbortSignal.timeout(10_000) });

    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
  }, 60_000);

  it('with AWS_REGION and access keys in the shell and DYNAMODB_ENDPOINT set, creates its tables where the service looks for them', async () => {
    store = await startPerAccountStore();
    started = await startTollgate({
      DYNAMODB_ENDPOINT: store.endpoint,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    });
    const url = await waitForReadyLine(started);

    const minted = (await (await fetch(`${url}/dev/mint`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"kind":"ci"}' })).json()) as { token: string };
    const answer = await fetch(`${url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', subject_token: minted.token }),
    });

    expect(answer.status).toBe(200);
    expect(store.accounts()).toEqual(['AKIAIOSFODNN7EXAMPLE/eu-west-1']);
  }, 60_000);
});
