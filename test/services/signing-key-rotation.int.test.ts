import { GetSecretValueCommand, SecretsManagerClient } from '../../src/adapters/aws-secrets-manager';
import { decodeProtectedHeader } from 'jose';
import { CachedSigningKeySource } from '../../src/adapters/cached-signing-key-source';
import { generateSigningJwk } from '../../src/adapters/jwk-set';
import { AccessTokens } from '../../src/services/access-tokens';
import { KEY_CACHE_SECONDS, rotationPolicyFor, type RotatingKeyDocument } from '../../src/domain/key-set-rotation';
import { RotationError } from '../../src/domain/rotation-error';
import { SecretsManagerRotationStore } from '../../src/adapters/secrets-manager-rotation-store';
import { SigningKeyRotation, type RotationEvent } from '../../src/services/signing-key-rotation';
import { TestClock } from '../support/clock';
import { startFakeSecretsManager, type FakeSecretsManager } from '../support/fake-secrets-manager';

/**
 * The rotation function's four steps against the Secrets Manager API shape.
 * The service itself is out of reach here, so a loopback fake of its JSON API
 * stands in (test/support/fake-secrets-manager.ts): the real SDK client talks
 * to it over HTTP, and it plays Secrets Manager's side of a rotation.
 */
describe('signing key rotation against the Secrets Manager API (loopback fake)', () => {
  const EMPTY = '{"current":"","keys":[]}';
  const DAY = 86_400;
  let fake: FakeSecretsManager;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    fake = await startFakeSecretsManager();
    client = new SecretsManagerClient({ endpoint: fake.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  });
  afterAll(async () => {
    client?.destroy();
    await fake?.close();
  });

  function rotationWith(clock: TestClock, logs: string[] = []) {
    return new SigningKeyRotation({
      store: new SecretsManagerRotationStore(client),
      clock,
      policy: rotationPolicyFor({ accessTokenTtlSeconds: 900 }),
      generateKey: () => generateSigningJwk('RS256'),
      log: { info: (message) => logs.push(message) },
    });
  }

  function keySource(secretId: string, clock: TestClock) {
    return new CachedSigningKeySource(async () => {
      const result = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return result.SecretString!;
    }, clock);
  }

  const documentOf = (secretId: string) => JSON.parse(fake.value(secretId)!) as RotatingKeyDocument;

  it('fills the deployed empty secret on the first rotation: one key signing, one staged', async () => {
    const arn = fake.createSecret('first-rotation', EMPTY, { rotationEnabled: true });
    const rotation = rotationWith(new TestClock());

    const versionId = await fake.rotate(arn, (event) => rotation.run(event));

    const document = documentOf(arn);
    expect(document.keys).toHaveLength(2);
    expect(document.next).not.toBe(document.current);
    expect(fake.stages(arn)[versionId]).toEqual(['AWSCURRENT']);
    expect(Object.values(fake.stages(arn))).toContainEqual(['AWSPREVIOUS']);
    expect(fake.operations).toEqual(expect.arrayContaining(['DescribeSecret', 'GetSecretValue', 'PutSecretValue', 'UpdateSecretVersionStage']));
  });

  it('publishes the new key before it signs and keeps the old key while its tokens live', async () => {
    // Prepare: a deployed secret, its first rotation, and a token service reading it through the real key cache.
    const clock = new TestClock(Date.UTC(2026, 0, 1));
    const arn = fake.createSecret('lifecycle', EMPTY, { rotationEnabled: true });
    const rotation = rotationWith(clock);
    await fake.rotate(arn, (event) => rotation.run(event));
    const source = keySource(arn, clock);
    const tokens = new AccessTokens(source, clock, 'https://tollgate.example', 'tollgate', 900);
    const issue = () =>
      tokens.issue({ sub: 'github:repo', sid: 's1', scope: 'deploy', kind: 'ci', clientId: 'c', context: {}, notAfter: clock.now() / 1000 + 3600 });
    const first = documentOf(arn);
    const oldToken = await issue();
    expect(decodeProtectedHeader(oldToken.token).kid).toBe(first.current);
    const jwksBefore = (await source.load()).publicJwks.map((jwk) => jwk.kid);
    expect(jwksBefore).toEqual([first.current, first.next]);

    // Act: the scheduled rotation a month later, then the caches expire.
    clock.advance(30 * DAY);
    await source.load();
    const renewedToken = await issue();
    await fake.rotate(arn, (event) => rotation.run(event));
    clock.advance(KEY_CACHE_SECONDS + 1);

    // Assess: the staged key signs, the old one is still published, the token it signed just before still verifies.
    const second = documentOf(arn);
    expect(second.current).toBe(first.next);
    const keys = await source.load();
    expect(keys.publicJwks.map((jwk) => jwk.kid)).toEqual([second.current, first.current, second.next]);
    expect(keys.publicJwks.every((jwk) => jwk.d === undefined)).toBe(true);
    const newToken = await issue();
    expect(decodeProtectedHeader(newToken.token).kid).toBe(second.current);
    await expect(tokens.verify(renewedToken.token)).resolves.toMatchObject({ sid: 's1' });
    await expect(tokens.verify(newToken.token)).resolves.toMatchObject({ sid: 's1' });
    await expect(tokens.verify(oldToken.token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });

    // Act again: the next rotation removes the retired key, whose tokens have all expired.
    clock.advance(30 * DAY);
    await fake.rotate(arn, (event) => rotation.run(event));
    expect(documentOf(arn).keys.map((key) => key.kid)).not.toContain(first.current);
  });

  it('stores the pending value once when createSecret is retried', async () => {
    const arn = fake.createSecret('retried', EMPTY, { rotationEnabled: true });
    const rotation = rotationWith(new TestClock());
    const logs: string[] = [];
    const retrying = rotationWith(new TestClock(), logs);
    let pending: string | undefined;

    await fake.rotate(arn, async (event) => {
      await rotation.run(event);
      if (event.Step === 'createSecret') {
        pending = fake.value(arn, 'AWSPENDING');
        await retrying.run(event);
        expect(fake.value(arn, 'AWSPENDING')).toBe(pending);
      }
    });

    expect(logs).toContain('rotation createSecret: pending value already stored');
    expect(fake.value(arn)).toBe(pending);
  });

  it('leaves AWSCURRENT alone when testSecret finds a pending key set that would break tokens', async () => {
    const arn = fake.createSecret('broken', EMPTY, { rotationEnabled: true });
    const rotation = rotationWith(new TestClock());
    await fake.rotate(arn, (event) => rotation.run(event));
    const before = fake.value(arn);
    const stranger = await generateSigningJwk('RS256');
    const store = new SecretsManagerRotationStore(client);

    const attempt = fake.rotate(arn, async (event) => {
      // A pending document whose signing key nobody has seen, and without the key that signs today.
      if (event.Step === 'createSecret') await store.putPending(event.SecretId, event.ClientRequestToken, JSON.stringify({ current: stranger.kid, keys: [stranger] }));
      else await rotation.run(event);
    });

    await expect(attempt).rejects.toMatchObject({ name: 'RotationError', code: 'CONTINUITY' });
    expect(fake.value(arn)).toBe(before);
    expect(fake.value(arn)).not.toContain(stranger.d);
  });

  it.each<[string, (arn: string, previous: string) => RotationEvent, RotationError['code']]>([
    ['a version the secret does not have', (arn) => ({ Step: 'createSecret', SecretId: arn, ClientRequestToken: 'no-such-version' }), 'UNKNOWN_VERSION'],
    ['a version that is not pending (AWSPREVIOUS)', (arn, previous) => ({ Step: 'testSecret', SecretId: arn, ClientRequestToken: previous }), 'NOT_PENDING'],
  ])('refuses an event naming %s', async (_name, event, code) => {
    const arn = fake.createSecret(`refuses-${code}`, EMPTY, { rotationEnabled: true });
    const rotation = rotationWith(new TestClock());
    await fake.rotate(arn, (step) => rotation.run(step));
    const previous = Object.entries(fake.stages(arn)).find(([, stages]) => stages.includes('AWSPREVIOUS'))![0];

    await expect(rotation.run(event(arn, previous))).rejects.toMatchObject({ code });
  });

  it('refuses to run when rotation is not enabled on the secret', async () => {
    const arn = fake.createSecret('disabled', EMPTY, { rotationEnabled: false });
    const current = Object.keys(fake.stages(arn))[0]!;

    await expect(rotationWith(new TestClock()).run({ Step: 'createSecret', SecretId: arn, ClientRequestToken: current })).rejects.toMatchObject({
      code: 'ROTATION_DISABLED',
    });
  });

  it('does nothing for a version that is already current (a step Secrets Manager retried after finishSecret)', async () => {
    const arn = fake.createSecret('done', EMPTY, { rotationEnabled: true });
    const rotation = rotationWith(new TestClock());
    const versionId = await fake.rotate(arn, (event) => rotation.run(event));
    const value = fake.value(arn);

    await rotation.run({ Step: 'finishSecret', SecretId: arn, ClientRequestToken: versionId });
    await rotation.run({ Step: 'createSecret', SecretId: arn, ClientRequestToken: versionId });

    expect(fake.value(arn)).toBe(value);
    expect(fake.stages(arn)[versionId]).toEqual(['AWSCURRENT']);
  });
});
