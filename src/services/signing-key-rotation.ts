import { SignJWT, importJWK, jwtVerify, type JWK } from 'jose';
import type { Clock } from '../domain/clock';
import { epochSeconds } from '../domain/clock';
import { publicJwk } from '../domain/signing-key-document';
import { checkContinuity, parseRotatingKeyDocument, rotateKeySet, type RotatingKeyDocument, type RotationPolicy } from '../domain/key-set-rotation';
import { RotationError } from '../domain/rotation-error';
import type { RotationSecretStore } from '../ports/rotation-secret-store';

/** The Secrets Manager rotation event (the `Step`s are Secrets Manager's names). */
export interface RotationEvent {
  Step: 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
  SecretId: string;
  /** The id of the version being rotated in (AWSPENDING). */
  ClientRequestToken: string;
}

export interface RotationLog {
  info(message: string, fields: Record<string, unknown>): void;
}

export interface SigningKeyRotationDeps {
  store: RotationSecretStore;
  clock: Clock;
  policy: RotationPolicy;
  /** A fresh private signing JWK with `kid` and `alg` (the configured algorithm). */
  generateKey: () => Promise<JWK>;
  /** The configured algorithm: a staged key of another one is replaced, never promoted (`rotateKeySet`). */
  alg?: string;
  log: RotationLog;
}

/**
 * The four steps of a Secrets Manager rotation for the signing key set
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_lambda-functions.html):
 *
 * - `createSecret` computes the next document (`rotateKeySet`) from AWSCURRENT
 *   and stores it as AWSPENDING. Idempotent: a retried step finds the pending
 *   value and stops.
 * - `setSecret` has nothing to do: no other system holds the keys; the token
 *   functions read the secret themselves.
 * - `testSecret` proves the pending document works (every key signs a probe
 *   token that its public key verifies) and keeps continuity with AWSCURRENT.
 * - `finishSecret` moves AWSCURRENT to the pending version.
 *
 * Every step first checks that rotation is on and that the event's version
 * is the pending one; a version already AWSCURRENT makes every step a no-op.
 */
export class SigningKeyRotation {
  constructor(private readonly deps: SigningKeyRotationDeps) {}

  async run(event: RotationEvent): Promise<void> {
    const { SecretId: secretId, ClientRequestToken: versionId, Step: step } = event;
    const { rotationEnabled, versions } = await this.deps.store.describe(secretId);
    if (!rotationEnabled) throw new RotationError('ROTATION_DISABLED', 'rotation is not enabled on the secret');
    const stages = versions[versionId];
    if (!stages) throw new RotationError('UNKNOWN_VERSION', `version ${versionId} is not a version of the secret`);
    if (stages.includes('AWSCURRENT')) {
      this.deps.log.info('rotation step skipped: version already current', { step, versionId });
      return;
    }
    if (!stages.includes('AWSPENDING')) throw new RotationError('NOT_PENDING', `version ${versionId} is not AWSPENDING`);

    switch (step) {
      case 'createSecret':
        return this.createSecret(secretId, versionId);
      case 'setSecret':
        this.deps.log.info('rotation setSecret: nothing to set, the functions read the secret', { versionId });
        return;
      case 'testSecret':
        return this.testSecret(secretId, versionId);
      case 'finishSecret':
        return this.finishSecret(secretId, versionId, versions);
      default:
        throw new RotationError('UNKNOWN_VERSION', `unknown rotation step ${String(step)}`);
    }
  }

  private async currentDocument(secretId: string): Promise<RotatingKeyDocument | undefined> {
    const text = await this.deps.store.getValue(secretId, 'AWSCURRENT');
    if (text === undefined) throw new RotationError('MISSING_VALUE', 'the secret has no AWSCURRENT value');
    return parseRotatingKeyDocument(text);
  }

  private async createSecret(secretId: string, versionId: string): Promise<void> {
    const current = await this.currentDocument(secretId);
    if ((await this.deps.store.getValue(secretId, 'AWSPENDING', versionId)) !== undefined) {
      this.deps.log.info('rotation createSecret: pending value already stored', { versionId });
      return;
    }
    const outcome = await rotateKeySet(current, epochSeconds(this.deps.clock), this.deps.policy, this.deps.generateKey, this.deps.alg);
    checkContinuity(current, outcome.document);
    await this.deps.store.putPending(secretId, versionId, JSON.stringify(outcome.document));
    this.deps.log.info('rotation createSecret: pending key set stored', {
      versionId,
      bootstrapped: outcome.bootstrapped,
      current: outcome.document.current,
      promoted: outcome.promoted,
      staged: outcome.staged,
      removed: outcome.removed,
    });
  }

  private async testSecret(secretId: string, versionId: string): Promise<void> {
    const text = await this.deps.store.getValue(secretId, 'AWSPENDING', versionId);
    if (text === undefined) throw new RotationError('MISSING_VALUE', `version ${versionId} has no pending value`);
    const pending = parseRotatingKeyDocument(text);
    if (!pending) throw new RotationError('INVALID_DOCUMENT', 'the pending key set is empty');
    checkContinuity(await this.currentDocument(secretId), pending);
    for (const key of pending.keys) await probe(key);
    this.deps.log.info('rotation testSecret: every key signs and verifies', { versionId, keys: pending.keys.map((key) => key.kid) });
  }

  private async finishSecret(secretId: string, versionId: string, versions: Record<string, string[]>): Promise<void> {
    const currentVersion = Object.entries(versions).find(([, stages]) => stages.includes('AWSCURRENT'))?.[0];
    await this.deps.store.promote(secretId, versionId, currentVersion);
    this.deps.log.info('rotation finishSecret: pending key set is now current', { versionId, previousVersion: currentVersion });
  }
}

/** Signs a probe token with the private key and verifies it with the public part the JWKS will publish. */
async function probe(jwk: JWK): Promise<void> {
  try {
    const signing = await importJWK(jwk, jwk.alg);
    const verifying = await importJWK(publicJwk(jwk), jwk.alg);
    const token = await new SignJWT({ probe: true }).setProtectedHeader({ alg: jwk.alg!, kid: jwk.kid }).sign(signing);
    await jwtVerify(token, verifying, { algorithms: [jwk.alg!] });
  } catch {
    throw new RotationError('INVALID_DOCUMENT', `key ${jwk.kid} does not sign and verify`);
  }
}
