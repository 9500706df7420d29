import type { Browser, BrowserContext, Page } from 'playwright-core';
import { decodeJwt } from 'jose';
import { startTokenSuite, type TokenSuite } from '../integration/token-fixtures';
import { bundleClient, launchChromium, openApp, startAppServer, type AppServer, type SessionMode } from './support/browser-app';
import { startWire, type Wire } from './support/wire';

/**
 * The client as a web app meets it: the app page on one loopback origin
 * (`http://localhost:<port>`), Tollgate (the real local server) on another,
 * a wire proxy between them counting what reaches the server, all in
 * headless Chromium. Access tokens live 2 s, so a token is due for refresh
 * after 1 s and expiry rounds are fast.
 */

type TokenOutcome = { token?: string; ms?: number; error?: { name: string; code?: string; message: string } };
type CallOutcome = { status?: number; body?: unknown; error?: { name: string; code?: string; status?: number; message: string } };

/** Expiry rounds per multi-tab scenario: a race that loses 1 round in 20 shows in 60 with probability 1 − (19/20)^60 ≈ 95 %. */
const ROUNDS = Number(process.env.TOLLGATE_BROWSER_ROUNDS ?? 60);
const sidOf = (token: string) => decodeJwt(token).sid as string;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the client in a real browser, cross-origin', () => {
  let suite: TokenSuite;
  let browser: Browser;
  let app: AppServer;
  let foreign: AppServer;
  let contexts: BrowserContext[] = [];
  let wires: Wire[] = [];

  beforeAll(async () => {
    const files = await bundleClient();
    [app, foreign] = await Promise.all([startAppServer(files), startAppServer(files)]);
    suite = await startTokenSuite({
      config: {
        accessTokenTtlSeconds: 2,
        cors: { allowedOrigins: [app.origin] },
        rateLimit: { tokenRequestsPerMinutePerIp: 100_000, tokenRequestsPerMinutePerSubject: 100_000, requestsPerMinute: 100_000 },
      },
    });
    browser = await launchChromium();
  });

  afterEach(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await Promise.all(wires.map((wire) => wire.close()));
    contexts = [];
    wires = [];
  });

  afterAll(async () => {
    await browser?.close();
    await suite?.close();
    await Promise.all([app?.close(), foreign?.close()]);
  });

  /** A fresh browser profile (its own tabs, locks, channels and workers) and wire; `tabs` pages of the app in it. */
  async function scenario(options: { tabs: number; mode: SessionMode; dpop?: boolean; user: string; origin?: AppServer; direct?: boolean }) {
    const wire = await startWire(suite.tollgate.baseUrl);
    wires.push(wire);
    const context = await browser.newContext();
    contexts.push(context);
    let signedIn = true;
    const subjectToken = async () => (signedIn ? suite.clerkToken({ sub: options.user }) : '');
    const pages: Page[] = [];
    // DPoP proofs name the URL called: Tollgate checks them against its public URL, so those pages call it without the wire.
    const baseUrl = options.direct ? suite.tollgate.baseUrl : wire.url;
    for (let i = 0; i < options.tabs; i++) pages.push(await openApp(context, options.origin ?? app, { baseUrl, mode: options.mode, dpop: options.dpop, subjectToken }));
    return {
      wire,
      pages,
      signOut: () => {
        signedIn = false;
      },
    };
  }

  const token = (page: Page) => page.evaluate(() => (window as any).tg.token().then((t: string) => ({ token: t }), (e: any) => ({ error: { name: e.name, code: e.code, message: e.message } }))) as Promise<TokenOutcome>;
  const call = (page: Page, path: string) => page.evaluate((p) => (window as any).outcome((window as any).tg.fetch(p)), path) as Promise<CallOutcome>;

  it('exchanges, calls the proxy and refreshes ahead of expiry, across origins', async () => {
    const { wire, pages } = await scenario({ tabs: 1, mode: 'single', user: 'user_proactive' });

    const first = await call(pages[0]!, '/orders/1');
    await sleep(1_100);
    const second = await call(pages[0]!, '/orders/2');

    expect(first).toMatchObject({ status: 200, body: { method: 'GET', path: '/orders/1' } });
    expect(second).toMatchObject({ status: 200, body: { path: '/orders/2' } });
    expect(wire.exchanges()).toHaveLength(1);
    expect(wire.refreshes()).toHaveLength(1);
    // The proxy call carries Authorization: the browser asked first.
    expect(wire.calls.filter((c) => c.method === 'OPTIONS' && c.path.startsWith('/proxy/')).every((c) => c.status === 204)).toBe(true);
  });

  it('sends one refresh for ten concurrent calls at expiry', async () => {
    const { wire, pages } = await scenario({ tabs: 1, mode: 'single', user: 'user_load' });
    await call(pages[0]!, '/orders/0');
    await sleep(1_100);

    const outcomes = (await pages[0]!.evaluate(() => Promise.all(Array.from({ length: 10 }, (_, i) => (window as any).outcome((window as any).tg.fetch(`/orders/${i}`)))))) as CallOutcome[];

    expect(outcomes.map((o) => o.status)).toEqual(Array(10).fill(200));
    expect(wire.refreshes()).toHaveLength(1);
    // And as the server counted it on the session.
    expect((await suite.item(wire.refreshes()[0]!.sid!))?.refreshCount).toBe(1);
  });

  it.each(['lose-answer', 'cut-body'] as const)('keeps the session when a refresh answer is %s: the same refresh token is sent again and gets the same successor', async (fault) => {
    const { wire, pages } = await scenario({ tabs: 1, mode: 'single', user: `user_${fault}` });
    const start = await token(pages[0]!);
    await sleep(1_100);
    wire.faultNextRefresh(fault);

    const after = await token(pages[0]!);
    await sleep(1_100);
    const later = await call(pages[0]!, '/orders/9');

    expect(after.error).toBeUndefined();
    const refreshes = wire.refreshes();
    expect(refreshes[0]).toMatchObject({ fault, status: 200 });
    expect(refreshes.slice(0, 2).map((r) => r.sid)).toEqual([sidOf(start.token!), sidOf(start.token!)]);
    expect(sidOf(after.token!)).toBe(sidOf(start.token!));
    expect(later.status).toBe(200);
    expect(wire.exchanges()).toHaveLength(1);
    expect((await suite.item(sidOf(start.token!)))?.status).toBe('active');
  });

  /** Rounds of one expiry seen by every tab at the same millisecond; returns the refreshes each round sent. */
  async function expiryRounds(tabs: number, mode: SessionMode, user: string) {
    const { wire, pages } = await scenario({ tabs, mode, user });
    const opened = await Promise.all(pages.map((page) => token(page)));
    const perRound: number[] = [];
    /** Per round, how long until the last tab held the new token (ms from the moment they all asked). */
    const settle: number[] = [];
    const problems: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const before = wire.refreshes().length;
      // Every tab's token is due 1 s after it was obtained; all of them ask 50 ms after that.
      const at = Date.now() + 1_050;
      const outcomes = (await Promise.all(pages.map((page) => page.evaluate((time) => (window as any).tokenAt(time), at)))) as TokenOutcome[];
      perRound.push(wire.refreshes().length - before);
      settle.push(Math.max(...outcomes.map((o) => o.ms ?? 0)));
      for (const outcome of outcomes) if (outcome.error) problems.push(`round ${round}: ${outcome.error.code ?? outcome.error.name}`);
      if (new Set(outcomes.map((o) => o.token)).size !== 1) problems.push(`round ${round}: the tabs hold different tokens`);
    }
    const sids = new Set([...opened.map((o) => o.token && sidOf(o.token)), ...wire.refreshes().map((r) => r.sid)]);
    const last = await token(pages[0]!);
    const active = (await suite.tollgate.verify(last.token!)).json as { active: boolean };
    settle.sort((a, b) => a - b);
    const median = settle[Math.floor(settle.length / 2)]!;
    const p95 = settle[Math.min(settle.length - 1, Math.floor(settle.length * 0.95))]!;
    return { perRound, problems, sessions: sids.size, exchanges: wire.exchanges().length, active: active.active, median, p95 };
  }

  it(`holds two and three tabs at exactly one refresh per expiry over ${ROUNDS} rounds, with Web Locks + BroadcastChannel and with a SharedWorker`, async () => {
    const started = Date.now();
    const [locks2, locks3, worker2, worker3] = await Promise.all([
      expiryRounds(2, 'tabs', 'user_locks2'),
      expiryRounds(3, 'tabs', 'user_locks3'),
      expiryRounds(2, 'worker', 'user_worker2'),
      expiryRounds(3, 'worker', 'user_worker3'),
    ]);
    const summary = { locks2, locks3, worker2, worker3 };
    process.stdout.write(
      `expiry rounds (${ROUNDS} each, ${Math.round((Date.now() - started) / 1000)} s): ` +
        Object.entries(summary)
          .map(([name, r]) => `${name}: rounds with ≠1 refresh ${r.perRound.filter((n) => n !== 1).length}, sessions ${r.sessions}, exchanges ${r.exchanges}, last tab served p50 ${r.median} ms p95 ${r.p95} ms`)
          .join('; ') +
        '\n',
    );

    for (const result of Object.values(summary)) {
      expect(result.problems).toEqual([]);
      expect(result.perRound).toEqual(Array(ROUNDS).fill(1));
      expect(result.sessions).toBe(1);
      expect(result.exchanges).toBe(1);
      expect(result.active).toBe(true);
    }
  });

  it.each(['tabs', 'worker'] as const)('lets a tab opened later reuse the session, and ends it in every tab on sign-out (%s)', async (mode) => {
    const { wire, pages, signOut } = await scenario({ tabs: 2, mode, user: `user_signout_${mode}` });
    const first = await token(pages[0]!);
    const late = await openApp(pages[0]!.context(), app, {
      baseUrl: wire.url,
      mode,
      subjectToken: () => Promise.reject(new Error('a tab opened later must not start a session')),
    });
    const reused = await token(late);
    expect(reused.token).toBe(first.token);
    expect(wire.exchanges()).toHaveLength(1);

    signOut();
    await pages[1]!.evaluate(() => (window as any).tg.revoke());
    const after = await Promise.all([call(pages[0]!, '/orders/1'), call(late, '/orders/1')]);

    expect(after.map((o) => o.error?.code)).toEqual(['SUBJECT_TOKEN_UNAVAILABLE', 'SUBJECT_TOKEN_UNAVAILABLE']);
    expect((await suite.tollgate.verify(first.token!)).json).toEqual({ active: false });
    expect(wire.refreshes()).toHaveLength(0);
  });

  it.each(['tabs', 'worker'] as const)('shares a DPoP-bound session between tabs: the key travels with the tokens (%s)', async (mode) => {
    const { pages } = await scenario({ tabs: 2, mode, dpop: true, user: `user_dpop_${mode}`, direct: true });

    const first = await call(pages[0]!, '/orders/1');
    const second = await call(pages[1]!, '/orders/2');
    const before = await token(pages[0]!);
    await sleep(1_100);
    const refreshed = await call(pages[1]!, '/orders/3');
    const after = await token(pages[0]!);

    expect([first, second, refreshed].map((o) => o.status ?? o.error)).toEqual([200, 200, 200]);
    // One session, refreshed by tab 2 with the key tab 1 made, and adopted back by tab 1.
    expect(after.token).not.toBe(before.token);
    expect(sidOf(after.token!)).toBe(sidOf(before.token!));
    expect(decodeJwt(after.token!).cnf).toEqual(decodeJwt(before.token!).cnf);
    expect(decodeJwt(after.token!).cnf).toEqual({ jkt: expect.any(String) });
  });

  it('refuses a foreign origin: the browser withholds every answer and the client says NETWORK_ERROR', async () => {
    const { wire, pages } = await scenario({ tabs: 1, mode: 'single', user: 'user_foreign', origin: foreign });

    const refused = await token(pages[0]!);
    const metadata = await pages[0]!.evaluate((url) => fetch(`${url}/.well-known/jwks.json`).then(() => 'read', (e: Error) => e.name), wire.url);

    expect(refused.error).toMatchObject({ name: 'TollgateError', code: 'NETWORK_ERROR' });
    expect(refused.error!.message).toContain('cors.allowedOrigins');
    expect(metadata).toBe('TypeError');
    // The form POST itself reached the server (no preflight for a form): see docs/security.md on what that allows.
    expect(wire.exchanges().map((c) => c.origin)).toEqual([foreign.origin]);
  });

  it('falls back to the page\'s own session when the worker script cannot load', async () => {
    const wire = await startWire(suite.tollgate.baseUrl);
    wires.push(wire);
    const context = await browser.newContext();
    contexts.push(context);
    const page = await openApp(context, app, { baseUrl: wire.url, mode: 'worker', workerUrl: '/no-such-worker.js', subjectToken: () => suite.clerkToken({ sub: 'user_fallback' }) });

    const outcome = await call(page, '/orders/1');

    expect(outcome.status).toBe(200);
    expect(wire.exchanges()).toHaveLength(1);
  });

  it('turns an offline device and an abort into OFFLINE and ABORTED', async () => {
    const { pages } = await scenario({ tabs: 1, mode: 'single', user: 'user_offline' });
    await token(pages[0]!);

    await pages[0]!.context().setOffline(true);
    const offline = await call(pages[0]!, '/orders/1');
    await pages[0]!.context().setOffline(false);
    const aborted = await pages[0]!.evaluate(() => {
      const controller = new AbortController();
      const pending = (window as any).outcome((window as any).tg.fetch('/orders/2', { signal: controller.signal }));
      controller.abort(new Error('left the page'));
      return pending;
    });

    expect(offline.error).toMatchObject({ name: 'TollgateError', code: 'OFFLINE' });
    expect(aborted.error).toMatchObject({ name: 'TollgateError', code: 'ABORTED' });
  });

  it('lets an allowed page read the status and the headers the client needs on errors', async () => {
    const { wire, pages } = await scenario({ tabs: 1, mode: 'single', user: 'user_headers' });

    const answer = await pages[0]!.evaluate(async (url) => {
      const response = await fetch(`${url}/proxy/orders/1`, { headers: { authorization: 'Bearer nope' } });
      return { status: response.status, challenge: response.headers.get('www-authenticate') };
    }, wire.url);

    expect(answer.status).toBe(401);
    expect(answer.challenge).toMatch(/^Bearer error="invalid_token"/);
  });
});
