import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { githubActionsClaims } from '../../src/local/dev-claims';
import { TestClock } from '../support/clock';
import { postForm } from '../support/http';
import { REPO, startTokenSuite, type TokenSuite } from './token-fixtures';

/**
 * What the server logs while it serves a whole life cycle, bad tokens and
 * reuse included: structured lines with the events, and never a token.
 */
describe('token service logs', () => {
  let suite: TokenSuite;
  const clock = new TestClock();
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);

  beforeAll(async () => {
    const capture = (chunk: unknown) => {
      lines.push(String(chunk));
      return true;
    };
    process.stdout.write = capture as typeof process.stdout.write;
    process.stderr.write = capture as typeof process.stderr.write;
    suite = await startTokenSuite({
      clock,
      observability: {
        logger: new Logger({ serviceName: 'tollgate-test', logLevel: 'DEBUG' }),
        metrics: new Metrics({ namespace: 'Tollgate', serviceName: 'tollgate-test' }),
      },
    });
  });

  afterAll(async () => {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    await suite?.close();
  });

  it('records the events without a single token, secret or signature', async () => {
    const secrets: string[] = [];
    const keep = (token: string) => {
      secrets.push(token);
      // The parts that prove possession: a JWT's signature, a refresh token's secret.
      secrets.push(token.includes('.') ? token.split('.').at(-1)! : token);
    };

    const subject = await suite.githubToken();
    keep(subject);
    const first = (await suite.tollgate.exchange(subject)).json;
    keep(first.access_token);
    keep(first.refresh_token);
    await suite.tollgate.exchange(subject); // replay
    const forged = await suite.github.signWithUnpublishedKey(githubActionsClaims(suite.github.issuer, suite.now(), REPO));
    keep(forged);
    await suite.tollgate.exchange(forged);
    await suite.tollgate.verify(first.access_token);
    await suite.tollgate.verify('garbage-token-value');
    const second = (await suite.tollgate.refresh(first.refresh_token)).json;
    keep(second.access_token);
    keep(second.refresh_token);
    clock.advance(11);
    await suite.tollgate.refresh(first.refresh_token); // reuse after the grace window: revokes
    const user = await suite.session('user');
    keep(user.access_token);
    keep(user.refresh_token);
    await postForm(`${suite.tollgate.baseUrl}/token`, { grant_type: 'refresh_token', refresh_token: user.refresh_token }, { authorization: 'Bearer secret-authorization-value' });
    await suite.tollgate.revoke(user.access_token);

    const log = lines.join('');
    for (const secret of secrets) expect(log).not.toContain(secret);
    expect(log).not.toContain('secret-authorization-value');
    const messages = lines.flatMap((line) => line.split('\n')).filter(Boolean).flatMap((line) => {
      try {
        return [JSON.parse(line) as { message: string }];
      } catch {
        return [];
      }
    });
    expect(messages.map((entry) => entry.message)).toEqual(
      expect.arrayContaining(['token issued', 'token refreshed', 'refresh token reuse detected', 'session revoked', 'token rejected']),
    );
  });
});
