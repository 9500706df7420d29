import { mkdtempSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, STORE_TIMEOUTS } from '../../src/adapters/dynamo-client';
import { githubActionsClaims } from '../../src/local/dev-claims';
import type { LocalTollgate } from '../../src/local/local-tollgate';
import { TestClock } from '../support/clock';
import { DpopTestKey } from '../support/dpop-key';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../support/fault-proxy';
import { postForm, type HttpAnswer } from '../support/http';
import { snapshotStore } from '../support/store-snapshot';
import { startTestStore, type TestStore } from '../support/store';
import { startTestIssuers, type TestIssuerServer } from '../support/test-issuer';
import { EXCHANGE } from '../support/tollgate';
import { sidOf } from '../integration/token-fixtures';
import { startProxyTollgate } from '../services/proxy-harness';

const UNAVAILABLE = { error: 'temporarily_unavailable', error_description: 'the service is temporarily unavailable, retry later' };
const ALREADY_USED_SUBJECT = { error: 'invalid_grant', error_description: 'subject token was already used' };
const ALREADY_USED_REFRESH = { error: 'invalid_grant', error_description: 'refresh token was already used' };

/**
 * Lost answers (docs/token-service.md, "Lost answers"): a DynamoDB-protocol
 * store behind the project's fault proxy applies a conditional write and
 * the answer never comes back — on the first attempt only (the SDK's retry
 * then fails the condition its first attempt made false), or on every
 * attempt (the SDK gives up; Tollgate looks once). Then the client does
 * what a client does after an answer it did not get: it retries. For every
 * conditional write Tollgate owns on the token path (session create, the
 * single-use marker, rotation, revocation), the outcome is what the docs
 * promise: the write is recognised as ours, or undone, or the retry is
 * answered as if the first answer had arrived; never a second session, a
 * spent single-use token, a "replay" of a first use, or a revoked session.
 */
describe('lost answers to the token service’s conditional writes', () => {
  let store: TestStore;
  let faults: FaultProxy;
  let issuers: TestIssuerServer;
  let tollgate: LocalTollgate;
  let db: DynamoDBDocumentClient;
  const clock = new TestClock();
  const dataDir = mkdtempSync(join(tmpdir(), 'tollgate-lost-answer-'));

  const subjectToken = () => {
    const github = issuers.issuers.github!;
    return github.sign(githubActionsClaims(github.issuer, Math.floor(Date.now() / 1000), { repositoryId: '74', ownerId: '65' }));
  };
  const exchange = async (subject: string, headers: Record<string, string> = {}) =>
    postForm(`${tollgate.baseUrl}/token`, { ...EXCHANGE, subject_token: subject }, headers);
  const refresh = (token: string) => postForm(`${tollgate.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: token });
  const verify = (token: string) => postForm(`${tollgate.baseUrl}/verify`, { token });
  const revoke = (token: string) => postForm(`${tollgate.baseUrl}/revoke`, { token });
  const sessions = async () => (await snapshotStore(db, store.tables)).sessions;
  const item = async (sid: string) => (await sessions()).find((candidate) => candidate.sid === sid);
  const session = async () => {
    const answer = await exchange(await subjectToken());
    expect(answer.status).toBe(200);
    return answer.json as { access_token: string; refresh_token: string };
  };

  /**
   * Faults the store's answers: `write` (an operation on a table) has its answer
   * lost, on its `first` attempt or on `every` one; `look`, when given, makes the
   * reads of that table after the write fail too (the connection is reset
   * before the read reaches the store). Returns how many answers it has lost so far.
   */
  function loseAnswers(write: { operation: string; table: string }, times: 'first' | 'every', look?: { table: string }): () => number {
    let lost = 0;
    const rule: FaultRule = (call) => {
      if (call.operation === write.operation && call.target === write.table && (times === 'every' || lost === 0)) {
        lost += 1;
        return 'lose-answer';
      }
      if (look && lost > 0 && call.operation === 'GetItem' && call.target === look.table) return 'reset';
      return undefined;
    };
    faults.failWhen(rule);
    return () => lost;
  }
  /** Every attempt the SDK makes, or only the first. */
  const attempts = (times: 'first' | 'every') => (times === 'every' ? STORE_TIMEOUTS.maxAttempts : 1);

  beforeAll(async () => {
    store = await startTestStore();
    faults = await startFaultProxy(store.endpoint);
    issuers = await startTestIssuers(['github', 'clerk']);
    tollgate = await startProxyTollgate({ issuers, clock, dataDir, store: { endpoint: faults.endpoint, tables: store.tables } });
    db = createDocumentClient({ endpoint: store.endpoint, region: 'local' });
  });

  afterAll(async () => {
    db?.destroy();
    await tollgate?.close();
    await faults?.close();
    await store?.close();
    await issuers?.close();
  });

  afterEach(() => {
    faults.failWhen(undefined);
  });

  describe('session create (the exchange; for a single-use subject token it is the single-use marker too)', () => {
    it.each<[string, 'first' | 'every']>([['the first attempt', 'first'], ['every attempt', 'every']])(
      'answer lost on %s: the exchange answers 200 with the session it wrote, exactly one session exists, and the same subject token is then "already used"',
      async (_label, times) => {
        const subject = await subjectToken();
        const before = (await sessions()).length;
        const lost = loseAnswers({ operation: 'PutItem', table: store.tables.sessions }, times);

        const answer = await exchange(subject);

        expect(answer.status).toBe(200);
        expect(lost()).toBe(attempts(times));
        faults.failWhen(undefined);
        expect(await sessions()).toHaveLength(before + 1);
        expect(await item(sidOf(answer.json.access_token))).toMatchObject({ status: 'active', refreshCount: 0 });
        expect((await verify(answer.json.access_token)).json.active).toBe(true);
        expect((await refresh(answer.json.refresh_token)).status).toBe(200);
        // The token was used once, and that use was answered: a second presentation is a replay.
        expect((await exchange(subject)).json).toEqual(ALREADY_USED_SUBJECT);
      },
    );

    it('answer lost on every attempt and the look fails too: 503, the write undone (no orphan session), and the client’s retry with the same single-use token succeeds', async () => {
      const subject = await subjectToken();
      const before = await sessions();
      const lost = loseAnswers({ operation: 'PutItem', table: store.tables.sessions }, 'every', { table: store.tables.sessions });

      const answer = await exchange(subject);

      expect(answer.status).toBe(503);
      expect(answer.json).toEqual(UNAVAILABLE);
      expect(lost()).toBe(attempts('every'));
      faults.failWhen(undefined);
      expect(await sessions()).toEqual(before);

      const retried = await exchange(subject);

      expect(retried.status).toBe(200);
      expect(await sessions()).toHaveLength(before.length + 1);
      expect((await verify(retried.json.access_token)).json.active).toBe(true);
    });
  });

  describe('the DPoP proof’s single-use marker (guards table)', () => {
    const dpopExchange = async (key: DpopTestKey, subject: string) =>
      exchange(subject, { DPoP: await key.proof({ htm: 'POST', htu: `${tollgate.baseUrl}/token` }) });

    it.each<[string, 'first' | 'every']>([['the first attempt', 'first'], ['every attempt', 'every']])(
      'answer lost on %s: a first use of the proof is not a replay of itself — the exchange binds the session',
      async (_label, times) => {
        const key = await DpopTestKey.generate();
        const lost = loseAnswers({ operation: 'PutItem', table: store.tables.guards }, times);

        const answer = await dpopExchange(key, await subjectToken());

        expect(lost()).toBe(attempts(times));
        expect(answer.status).toBe(200);
        expect(answer.json.token_type).toBe('DPoP');
      },
    );

    it('answer lost on every attempt and the look fails too: 503, and the client’s retry (a new proof, the same subject token) succeeds', async () => {
      const key = await DpopTestKey.generate();
      const subject = await subjectToken();
      const lost = loseAnswers({ operation: 'PutItem', table: store.tables.guards }, 'every', { table: store.tables.guards });

      const answer = await dpopExchange(key, subject);

      expect(answer.status).toBe(503);
      expect(lost()).toBe(attempts('every'));
      faults.failWhen(undefined);
      const retried = await dpopExchange(key, subject);
      expect(retried.status).toBe(200);
      expect(retried.json.token_type).toBe('DPoP');
    });
  });

  describe('rotation (the refresh)', () => {
    it.each<[string, 'first' | 'every']>([['the first attempt', 'first'], ['every attempt', 'every']])(
      'answer lost on %s: the refresh answers 200 with the successor it wrote; a retry with the old token gets the same successor; rotated once',
      async (_label, times) => {
        const { access_token, refresh_token } = await session();
        const sid = sidOf(access_token);
        const lost = loseAnswers({ operation: 'UpdateItem', table: store.tables.sessions }, times);

        const answer = await refresh(refresh_token);

        expect(answer.status).toBe(200);
        expect(lost()).toBe(attempts(times));
        faults.failWhen(undefined);
        const retried = await refresh(refresh_token);
        expect(retried.status).toBe(200);
        expect(retried.json.refresh_token).toBe(answer.json.refresh_token);
        expect(await item(sid)).toMatchObject({ status: 'active', refreshCount: 1 });
        expect((await refresh(answer.json.refresh_token)).status).toBe(200);
        expect(await item(sid)).toMatchObject({ status: 'active', refreshCount: 2 });
      },
    );

    it('answer lost on every attempt and the look fails too: 503, though it rotated; the client’s prompt retry with the token it still has gets one successor, every time the same, and the session lives on', async () => {
      const { access_token, refresh_token } = await session();
      const sid = sidOf(access_token);
      const lost = loseAnswers({ operation: 'UpdateItem', table: store.tables.sessions }, 'every', { table: store.tables.sessions });

      const answer = await refresh(refresh_token);

      expect(answer.status).toBe(503);
      expect(answer.json).toEqual(UNAVAILABLE);
      expect(lost()).toBe(attempts('every'));
      faults.failWhen(undefined);
      expect(await item(sid)).toMatchObject({ status: 'active', refreshCount: 1 });
      clock.advance(3);

      const retries: HttpAnswer[] = [await refresh(refresh_token), await refresh(refresh_token)];

      for (const retried of retries) {
        expect(retried.status).toBe(200);
        expect((await verify(retried.json.access_token)).json).toMatchObject({ active: true, sid });
      }
      expect(retries[1]!.json.refresh_token).toBe(retries[0]!.json.refresh_token);
      expect(await item(sid)).toMatchObject({ status: 'active', refreshCount: 1 });
      expect((await refresh(retries[0]!.json.refresh_token)).status).toBe(200);
      expect(await item(sid)).toMatchObject({ status: 'active', refreshCount: 2 });
    });

    it('the same, with the retry only after the grace window: reuse — the session is revoked (the documented bound)', async () => {
      const { access_token, refresh_token } = await session();
      const sid = sidOf(access_token);
      const lost = loseAnswers({ operation: 'UpdateItem', table: store.tables.sessions }, 'every', { table: store.tables.sessions });
      expect((await refresh(refresh_token)).status).toBe(503);
      expect(lost()).toBe(attempts('every'));
      faults.failWhen(undefined);
      clock.advance(11);

      const retried = await refresh(refresh_token);

      expect(retried.json).toEqual(ALREADY_USED_REFRESH);
      expect(await item(sid)).toMatchObject({ status: 'revoked', endReason: 'refresh_reuse' });
    });
  });

  describe('revocation', () => {
    it.each<[string, 'first' | 'every']>([['the first attempt', 'first'], ['every attempt', 'every']])(
      'answer lost on %s: /revoke answers 200, the session is revoked, and the retry answers 200 too',
      async (_label, times) => {
        const { access_token, refresh_token } = await session();
        const lost = loseAnswers({ operation: 'UpdateItem', table: store.tables.sessions }, times);

        const answer = await revoke(refresh_token);

        expect(answer.status).toBe(200);
        expect(lost()).toBe(attempts(times));
        faults.failWhen(undefined);
        expect(await item(sidOf(access_token))).toMatchObject({ status: 'revoked', endReason: 'revoked' });
        expect((await revoke(refresh_token)).status).toBe(200);
        expect((await refresh(refresh_token)).json).toEqual({ error: 'invalid_grant', error_description: 'the session has ended' });
      },
    );

    it('answer lost on every attempt and the look fails too: 503, and the client’s retry answers 200 with the session revoked', async () => {
      const { access_token, refresh_token } = await session();
      const lost = loseAnswers({ operation: 'UpdateItem', table: store.tables.sessions }, 'every', { table: store.tables.sessions });

      const answer = await revoke(refresh_token);

      expect(answer.status).toBe(503);
      expect(lost()).toBe(attempts('every'));
      faults.failWhen(undefined);
      expect((await revoke(refresh_token)).status).toBe(200);
      expect(await item(sidOf(access_token))).toMatchObject({ status: 'revoked', endReason: 'revoked' });
      expect((await verify(access_token)).json).toEqual({ active: false });
    });
  });

  describe('signing keys unreadable on a cold instance', () => {
    it('a refresh answers 503 before it rotates anything; once the keys are back the same refresh token works', async () => {
      const { access_token, refresh_token } = await session();
      const sid = sidOf(access_token);
      const before = await item(sid);
      const cold = await startProxyTollgate({ issuers, clock, dataDir, store: { endpoint: store.endpoint, tables: store.tables } });
      const keysFile = join(dataDir, 'signing-keys.json');
      renameSync(keysFile, `${keysFile}.away`);
      try {
        const answer = await postForm(`${cold.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token });

        expect(answer.status).toBe(503);
        expect(await item(sid)).toEqual(before);
      } finally {
        renameSync(`${keysFile}.away`, keysFile);
      }
      const retried = await postForm(`${cold.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token });
      await cold.close();
      expect(retried.status).toBe(200);
      expect(await item(sid)).toMatchObject({ refreshCount: 1 });
    });
  });
});
