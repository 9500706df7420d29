import { USED_HASHES_KEPT } from '../../src/domain/session';
import { TestClock } from '../support/clock';
import { oauthError, sidOf, startTokenSuite, type TokenSuite } from '../integration/token-fixtures';

const ALREADY_USED = oauthError('invalid_grant', 'refresh token was already used');
const INVALID = oauthError('invalid_grant', 'refresh token is invalid');
const ENDED = oauthError('invalid_grant', 'the session has ended');
const RACERS = 50;

/**
 * Many refreshes of one session at the same instant, against the real store:
 * the conditional rotation lets exactly one rotate, the others get that same
 * successor (the grace window), the session stays consistent (one successor,
 * `refreshCount` right), and afterwards no refresh token works that should not.
 */
describe('concurrent refreshes of one session', () => {
  let suite: TokenSuite;
  const clock = new TestClock();

  beforeAll(async () => {
    suite = await startTokenSuite({ clock, config: { rateLimit: { tokenRequestsPerMinutePerIp: 100_000 } } });
  });

  afterAll(async () => {
    await suite?.close();
  });

  it(`${RACERS} refreshes of the same refresh token: one rotation, the same successor for all (the grace window), the session intact`, async () => {
    const first = await suite.session('user');
    const sid = sidOf(first.access_token);

    const answers = await Promise.all(Array.from({ length: RACERS }, () => suite.tollgate.refresh(first.refresh_token)));

    expect(answers.map((answer) => answer.status)).toEqual(Array(RACERS).fill(200));
    const successors = new Set(answers.map((answer) => answer.json.refresh_token as string));
    expect(successors.size).toBe(1);
    expect(await suite.item(sid)).toMatchObject({ status: 'active', refreshCount: 1 });
    const successor = answers[0]!.json;
    expect((await suite.tollgate.verify(first.refresh_token)).json).toEqual({ active: false });
    expect((await suite.tollgate.verify(successor.refresh_token)).json).toMatchObject({ active: true, sid });
    for (const answer of answers) expect((await suite.tollgate.verify(answer.json.access_token)).json).toMatchObject({ active: true, sid });
    // The successor keeps working; past the grace window the raced token is reuse.
    const next = await suite.tollgate.refresh(successor.refresh_token);
    expect(next.status).toBe(200);
    expect(await suite.item(sid)).toMatchObject({ status: 'active', refreshCount: 2 });
    expect((await suite.tollgate.refresh(first.refresh_token)).json).toEqual(ALREADY_USED);
  });

  it(`${RACERS} refreshes with ${RACERS} different tokens of one session (the current one and its rotated predecessors): at most one successor, the session revoked for reuse, no token works afterwards`, async () => {
    const start = await suite.session('user');
    const sid = sidOf(start.access_token);
    const chain = [start.refresh_token];
    for (let i = 0; i < RACERS; i++) {
      const rotated = await suite.tollgate.refresh(chain.at(-1)!);
      expect(rotated.status).toBe(200);
      chain.push(rotated.json.refresh_token);
    }
    // chain[50] is current, chain[49] the previous one, chain[33..48] the 16 older ones remembered.
    expect(await suite.item(sid)).toMatchObject({ status: 'active', refreshCount: RACERS });
    clock.advance(11); // past the grace window: presenting the previous token is reuse too
    const racing = chain.slice(1); // chain[1..50]: 49 rotated tokens and the current one

    const answers = await Promise.all(racing.map((token) => suite.tollgate.refresh(token)));

    const current = answers.at(-1)!;
    const successors = answers.filter((answer) => answer.status === 200);
    expect(successors.length).toBeLessThanOrEqual(1);
    if (successors.length === 1) expect(current.status).toBe(200);
    // Refused when the revocation landed first: before its read (ended) or between its read and its rotation (lost the race).
    else expect([ENDED, ALREADY_USED]).toContainEqual(current.json);
    answers.slice(0, -1).forEach((answer, index) => {
      const position = index + 1; // chain index
      const remembered = RACERS - 1 - USED_HASHES_KEPT; // 33: remembered before the current token rotates, forgotten after
      expect(answer.status).toBe(400);
      if (position > remembered) expect(answer.json).toEqual(ALREADY_USED);
      else if (position < remembered) expect(answer.json).toEqual(INVALID);
      else expect([ALREADY_USED, INVALID]).toContainEqual(answer.json);
    });
    expect(await suite.item(sid)).toMatchObject({ status: 'revoked', endReason: 'refresh_reuse', refreshCount: RACERS + successors.length });

    const everyToken = [...chain, ...successors.map((answer) => answer.json.refresh_token as string)];
    for (const token of everyToken) {
      expect((await suite.tollgate.verify(token)).json).toEqual({ active: false });
      const again = await suite.tollgate.refresh(token);
      expect(again.status).toBe(400);
      expect([ALREADY_USED, INVALID, ENDED]).toContainEqual(again.json);
    }
    for (const answer of successors) expect((await suite.tollgate.verify(answer.json.access_token)).json).toEqual({ active: false });
  });
});
