import { SecretsManagerClient } from '../../src/adapters/aws-secrets-manager';
import { parseSecretRef, SecretRefs } from '../../src/adapters/secret-refs';
import { UnavailableError } from '../../src/domain/errors';
import { TestClock } from '../support/clock';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager';

describe('parseSecretRef', () => {
  it.each([
    ['env:UPSTREAM_KEY', { source: 'env', name: 'UPSTREAM_KEY' }],
    ['aws-secretsmanager:prod/upstream', { source: 'aws-secretsmanager', secretId: 'prod/upstream' }],
    ['aws-secretsmanager:prod/upstream#apiKey', { source: 'aws-secretsmanager', secretId: 'prod/upstream', jsonKey: 'apiKey' }],
    [
      'aws-secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:up-AbCdEf#k',
      { source: 'aws-secretsmanager', secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:up-AbCdEf', jsonKey: 'k' },
    ],
  ])('%s', (ref, parsed) => {
    expect(parseSecretRef(ref)).toEqual(parsed);
  });

  it.each([['UPSTREAM_KEY'], ['env:'], ['env:1X'], ['aws-secretsmanager:'], ['aws-secretsmanager:a#b#c'], ['file:/etc/passwd']])('refuses %s', (ref) => {
    expect(parseSecretRef(ref)).toBeNull();
  });
});

describe('SecretRefs', () => {
  let fake: FakeSecretsManager;
  let client: SecretsManagerClient;
  const clock = new TestClock();

  beforeAll(async () => {
    fake = await startFakeSecretsManager();
    client = new SecretsManagerClient({
      endpoint: fake.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    fake.createSecret('upstream/plain', 'plain-value');
    fake.createSecret('upstream/json', JSON.stringify({ apiKey: 'json-value', port: 8443, nested: { a: 1 } }));
    fake.createSecret('upstream/newline', 'bad\r\nX-Injected: 1');
  });

  afterAll(async () => {
    client?.destroy();
    await fake?.close();
  });

  const refs = (env: Record<string, string> = {}, sm: () => SecretsManagerClient = () => client) => new SecretRefs({ env, secretsManager: sm, clock, cacheMs: 60_000 });

  it('reads env refs', async () => {
    await expect(refs({ KEY: 'from-env' }).resolve('env:KEY')).resolves.toBe('from-env');
  });

  it('reads a Secrets Manager string, or one member of a JSON secret', async () => {
    const resolver = refs();
    await expect(resolver.resolve('aws-secretsmanager:upstream/plain')).resolves.toBe('plain-value');
    await expect(resolver.resolve('aws-secretsmanager:upstream/json#apiKey')).resolves.toBe('json-value');
    await expect(resolver.resolve('aws-secretsmanager:upstream/json#port')).resolves.toBe('8443');
  });

  it('reads once for concurrent callers and caches for the TTL, then reads again', async () => {
    fake.createSecret('upstream/cached', 'v1');
    const resolver = refs();
    const before = fake.operations.length;
    const values = await Promise.all(Array.from({ length: 10 }, () => resolver.resolve('aws-secretsmanager:upstream/cached')));
    expect(new Set(values)).toEqual(new Set(['v1']));
    expect(fake.operations.length - before).toBe(1);
    clock.advance(30);
    await resolver.resolve('aws-secretsmanager:upstream/cached');
    expect(fake.operations.length - before).toBe(1);
    clock.advance(31);
    await resolver.resolve('aws-secretsmanager:upstream/cached');
    expect(fake.operations.length - before).toBe(2);
  });

  it('does not cache a failed read: the next call reads again and succeeds', async () => {
    const env: Record<string, string> = {};
    const resolver = refs(env);
    await expect(resolver.resolve('env:LATE')).rejects.toBeInstanceOf(UnavailableError);
    env.LATE = 'now-set';
    await expect(resolver.resolve('env:LATE')).resolves.toBe('now-set');
  });

  it('keeps serving the last good value while Secrets Manager fails', async () => {
    let healthy = true;
    const broken = new SecretsManagerClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' }, maxAttempts: 1 });
    const resolver = refs({}, () => (healthy ? client : broken));
    await expect(resolver.resolve('aws-secretsmanager:upstream/plain')).resolves.toBe('plain-value');
    healthy = false;
    clock.advance(61);
    await expect(resolver.resolve('aws-secretsmanager:upstream/plain')).resolves.toBe('plain-value');
    broken.destroy();
  });

  it.each([
    ['a missing environment variable', 'env:NOT_SET'],
    ['a missing secret', 'aws-secretsmanager:upstream/absent'],
    ['a missing JSON member', 'aws-secretsmanager:upstream/json#absent'],
    ['a JSON member that is not a string', 'aws-secretsmanager:upstream/json#nested'],
    ['a JSON member of a secret that is not JSON', 'aws-secretsmanager:upstream/plain#apiKey'],
    ['a value that would split a header', 'aws-secretsmanager:upstream/newline'],
  ])('refuses %s with UnavailableError(secrets)', async (_name, ref) => {
    await expect(refs().resolve(ref)).rejects.toMatchObject({ name: 'UnavailableError', dependency: 'secrets' });
  });
});
