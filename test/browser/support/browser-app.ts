import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

const ROOT = join(__dirname, '..', '..', '..');

/** Debian's chromium (CI installs it with apt): the machines cannot download Playwright's own browser builds. */
export const CHROMIUM = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The client as an app ships it: `src/client/index.ts` and the SharedWorker
 * script bundled for browsers (ESM, no dependencies), as a bundler would.
 */
export async function bundleClient(): Promise<{ client: string; worker: string; clientBytes: number }> {
  const bundle = async (entry: string, minify: boolean) => {
    // TOLLGATE_CLIENT_SRC: bundle another copy of src/ (ad-hoc comparisons, e.g. without the generation locks).
    const result = await build({ entryPoints: [join(process.env.TOLLGATE_CLIENT_SRC ?? join(ROOT, 'src'), 'client', entry)], bundle: true, format: 'esm', platform: 'browser', target: 'es2020', minify, write: false });
    return result.outputFiles[0]!.text;
  };
  const [client, worker, minified] = await Promise.all([bundle('index.ts', false), bundle('shared-worker.ts', false), bundle('index.ts', true)]);
  return { client, worker, clientBytes: Buffer.byteLength(minified) };
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>app</title>
<script type="module">
  import * as tollgate from '/client.js';
  window.tollgate = tollgate;
  window.appReady = true;
</script>`;

export interface AppServer {
  origin: string;
  close(): Promise<void>;
}

/** The app: a static page on its own loopback origin that imports the client bundle (and serves the worker script). */
export async function startAppServer(files: { client: string; worker: string }): Promise<AppServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const body = path === '/' ? PAGE : path === '/client.js' ? files.client : path === '/tollgate-worker.js' ? files.worker : undefined;
    if (body === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': path === '/' ? 'text/html' : 'text/javascript', 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // `localhost`, not 127.0.0.1: another origin than Tollgate's and the wire's, and a secure context (WebCrypto, Web Locks).
    origin: `http://localhost:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install Debian's package (apt-get install -y chromium; .ci/run does) or set TOLLGATE_CHROMIUM to another Chromium executable`);
  }
  // As root (CI) Chromium refuses to start with its sandbox on.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
}

/** How a page's client keeps its session. */
export type SessionMode = 'single' | 'tabs' | 'worker';

export interface ClientSetup {
  baseUrl: string;
  mode: SessionMode;
  dpop?: boolean;
  /** The SharedWorker script's URL in `worker` mode. @default '/tollgate-worker.js' */
  workerUrl?: string;
  /** Mints the subject token the page's `getSubjectToken` returns. */
  subjectToken: () => Promise<string>;
}

/** Opens the app in a tab of `context` and creates `window.tg`, the client under test. */
export async function openApp(context: BrowserContext, app: AppServer, setup: ClientSetup): Promise<Page> {
  const page = await context.newPage();
  await page.exposeFunction('mintSubjectToken', setup.subjectToken);
  await page.goto(`${app.origin}/`);
  await page.waitForFunction(() => (window as unknown as { appReady?: boolean }).appReady === true);
  await page.evaluate(({ baseUrl, mode, dpop, workerUrl }) => {
    const w = window as unknown as Record<string, any>;
    w.tg = w.tollgate.createTollgateClient({
      baseUrl,
      getSubjectToken: () => w.mintSubjectToken(),
      shareSession: mode !== 'single',
      sharedWorker: mode === 'worker' ? workerUrl : undefined,
      dpop,
    });
    /** Runs `tg.token()` at an absolute time, so that tabs contend within the same millisecond. */
    w.tokenAt = (at: number) =>
      new Promise((resolve) =>
        setTimeout(
          () =>
            w.tg.token().then(
              (token: string) => resolve({ token, ms: Date.now() - at }),
              (error: any) => resolve({ error: { name: error.name, code: error.code, message: error.message } }),
            ),
          Math.max(0, at - Date.now()),
        ),
      );
    /** A call's outcome as plain data: a TollgateError's code, or the response's status and JSON. */
    w.outcome = (promise: Promise<Response>) =>
      promise.then(
        async (response) => ({ status: response.status, body: await response.json().catch(() => null) }),
        (error: any) => ({ error: { name: error.name, code: error.code, status: error.status, message: error.message } }),
      );
  }, { baseUrl: setup.baseUrl, mode: setup.mode, dpop: setup.dpop ?? false, workerUrl: setup.workerUrl ?? '/tollgate-worker.js' });
  return page;
}
