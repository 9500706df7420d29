import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { FileRotationStore } from '../../adapters/file-rotation-store';
import { generateSigningJwk } from '../../adapters/jwk-set';
import { ConfigError, parseConfig } from '../../config/config';
import { parseRotatingKeyDocument, rotationPolicyFor, type RotatingKeyDocument, type RotationPolicy } from '../../domain/key-set-rotation';
import { RotationError } from '../../domain/rotation-error';
import { SigningKeyRotation } from '../../services/signing-key-rotation';
import type { CliIo } from '../run-cli';
import { CliError, ExitCodes, type ExitCode } from '../cli-error';
import type { AdminLine } from './admin-options';
import { requireOutput, resolveTarget, StackOutputs, type AdminTarget } from './admin-target';
import { awsFailure } from './aws-errors';
import { isoTime } from './session-output';

/** How long `keys rotate` waits for Secrets Manager's rotation to finish, by default. */
const DEFAULT_WAIT_SECONDS = 120;

/** One published key as `keys list` shows it. Key ids are public; key material never leaves the document. */
export interface KeyRow {
  kid: string;
  alg: string;
  /** `current` signs; `next` is published and signs from the first rotation after `current.retiresAt`; `retired` only verifies until removed. */
  state: 'current' | 'next' | 'retired';
  /** When it was published (epoch seconds), null when the document predates that bookkeeping. */
  createdAt: number | null;
  /** current: the earliest rotation that can retire it; retired: when it stopped signing. */
  retiresAt: number | null;
  /** retired: the earliest rotation that removes it from the JWKS. */
  removedAfter: number | null;
}

export function keyRows(document: RotatingKeyDocument | undefined, policy: RotationPolicy): KeyRow[] {
  if (!document) return [];
  const published = document.publishedAt ?? {};
  const retired = document.retiredAt ?? {};
  return document.keys.map((key) => {
    const kid = key.kid!;
    const state = kid === document.current ? 'current' : kid === document.next ? 'next' : 'retired';
    const nextPublished = document.next ? published[document.next] : undefined;
    return {
      kid,
      alg: key.alg ?? '-',
      state,
      createdAt: published[kid] ?? null,
      retiresAt: state === 'current' ? (nextPublished !== undefined ? nextPublished + policy.promotionDelaySeconds : null) : state === 'retired' ? (retired[kid] ?? null) : null,
      removedAfter: state === 'retired' && retired[kid] !== undefined ? retired[kid]! + policy.retainSeconds : null,
    } satisfies KeyRow;
  });
}

export async function keysCommand(line: AdminLine, io: CliIo): Promise<ExitCode> {
  const target = await resolveTarget(line.target, io.env);
  const policy = await policyFrom(line.config);
  return line.action === 'keys list' ? list(line, io, target, policy) : rotate(line, io, target, policy);
}

/** The rotation policy of a config (`--config`); without one, the defaults' (15-minute access tokens). */
async function policyFrom(path: string | undefined): Promise<RotationPolicy> {
  if (path === undefined) return rotationPolicyFor({ accessTokenTtlSeconds: 900 });
  try {
    return rotationPolicyFor(parseConfig(await readFile(path, 'utf8'), path));
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(ExitCodes.usage, `--config: ${error.message}`);
    throw new CliError(ExitCodes.usage, `--config: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

async function list(line: AdminLine, io: CliIo, target: AdminTarget, policy: RotationPolicy): Promise<ExitCode> {
  let document: RotatingKeyDocument | undefined;
  let schedule: string | undefined;
  if (target.mode === 'local') document = await readKeyFile(target.keysFile);
  else {
    const secret = await secretState(requireOutput(target, StackOutputs.signingKeysSecret));
    document = secret.document;
    schedule = secret.schedule;
  }
  printKeys(line, io, keyRows(document, policy));
  if (schedule) io.stderr.write(`${schedule}\n`);
  if (!document) io.stderr.write('no signing keys yet: the first rotation creates them\n');
  return ExitCodes.ok;
}

function printKeys(line: AdminLine, io: CliIo, rows: KeyRow[]): void {
  if (line.json) {
    for (const row of rows) io.stdout.write(`${JSON.stringify(row)}\n`);
    return;
  }
  if (rows.length === 0) return;
  const table = [
    ['KID', 'ALG', 'STATE', 'CREATED', 'RETIRES'],
    ...rows.map((row) => [
      row.kid,
      row.alg,
      row.state,
      isoTime(row.createdAt),
      row.state === 'current'
        ? row.retiresAt === null
          ? 'at the rotation after the next'
          : `at the first rotation after ${isoTime(row.retiresAt)}`
        : row.state === 'next'
          ? '- (signs once promoted)'
          : `retired ${isoTime(row.retiresAt)}; unpublished at the first rotation after ${isoTime(row.removedAfter)}`,
    ]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((cells) => cells[column]!.length)));
  io.stdout.write(table.map((cells) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n') + '\n');
}

async function rotate(line: AdminLine, io: CliIo, target: AdminTarget, policy: RotationPolicy): Promise<ExitCode> {
  let before: RotatingKeyDocument | undefined;
  let after: RotatingKeyDocument | undefined;
  if (target.mode === 'local') {
    before = await readKeyFile(target.keysFile);
    await rotateLocal(target.keysFile, before, policy, io);
    after = await readKeyFile(target.keysFile);
  } else {
    ({ before, after } = await rotateStack(requireOutput(target, StackOutputs.signingKeysSecret), line.waitSeconds ?? DEFAULT_WAIT_SECONDS, io));
  }
  printKeys(line, io, keyRows(after, policy));
  io.stderr.write(`${rotationSummary(before, after, policy)}\n`);
  if (target.mode === 'local') io.stderr.write('a running npm start picks the new key set up within its key cache (at most 5 minutes)\n');
  return ExitCodes.ok;
}

/** What changed, by key id, and why a staged key was not promoted yet. */
function rotationSummary(before: RotatingKeyDocument | undefined, after: RotatingKeyDocument | undefined, policy: RotationPolicy): string {
  if (!after) return 'rotated: the secret holds no keys';
  const beforeKids = new Set(before?.keys.map((key) => key.kid) ?? []);
  const afterKids = new Set(after.keys.map((key) => key.kid));
  const parts: string[] = [];
  if (before?.current !== after.current) parts.push(`${after.current} now signs${before ? ` (${before.current} retired; still published for verification)` : ''}`);
  const added = after.keys.filter((key) => !beforeKids.has(key.kid)).map((key) => key.kid);
  if (added.length > 0) parts.push(`published ${added.join(', ')}`);
  const removed = [...beforeKids].filter((kid) => !afterKids.has(kid));
  if (removed.length > 0) parts.push(`unpublished ${removed.join(', ')}`);
  if (before && before.current === after.current && after.next) {
    const since = after.publishedAt?.[after.next];
    parts.push(
      `${after.next} is staged and becomes the signing key at the first rotation after ${isoTime(since === undefined ? null : since + policy.promotionDelaySeconds)}` +
        ` (${policy.promotionDelaySeconds} s after it was published, so every cache of the key set holds it before it signs)`,
    );
  }
  return `rotated: ${parts.join('; ') || 'nothing changed'}`;
}

async function readKeyFile(path: string): Promise<RotatingKeyDocument | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CliError(
      ExitCodes.usage,
      `cannot read the local signing key file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}): give --keys-file, set TOLLGATE_DATA_DIR as npm start had it, or --stack for a deployed Tollgate`,
    );
  }
  try {
    return parseRotatingKeyDocument(text);
  } catch (error) {
    throw new CliError(ExitCodes.refused, `${path}: ${(error as Error).message}`);
  }
}

/** The deployed rotation's steps and checks (`SigningKeyRotation`), on the local key file. */
async function rotateLocal(path: string, before: RotatingKeyDocument | undefined, policy: RotationPolicy, io: CliIo): Promise<void> {
  const store = new FileRotationStore(path);
  const alg = (before?.keys.find((key) => key.kid === before.current)?.alg ?? 'RS256') as 'RS256' | 'ES256' | 'EdDSA';
  const rotation = new SigningKeyRotation({
    store,
    clock: { now: io.now },
    policy,
    generateKey: () => generateSigningJwk(alg),
    log: { info: () => undefined },
  });
  const versionId = randomUUID();
  store.begin(versionId);
  try {
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await rotation.run({ Step: step, SecretId: path, ClientRequestToken: versionId });
    }
  } catch (error) {
    if (error instanceof RotationError) throw new CliError(ExitCodes.refused, `rotation refused (${error.code}): ${error.message}; the key file is unchanged`);
    throw error;
  }
}

interface SecretState {
  document: RotatingKeyDocument | undefined;
  rotationEnabled: boolean;
  pendingVersion?: string;
  currentVersion?: string;
  schedule: string;
}

async function secretsManager() {
  const sdk = await import('@aws-sdk/client-secrets-manager');
  return { sdk, client: new sdk.SecretsManagerClient({}) };
}

async function secretState(secretId: string): Promise<SecretState> {
  const { sdk, client } = await secretsManager();
  try {
    const description = await client.send(new sdk.DescribeSecretCommand({ SecretId: secretId }));
    const stages = Object.entries(description.VersionIdsToStages ?? {});
    const currentVersion = stages.find(([, labels]) => labels.includes('AWSCURRENT'))?.[0];
    const pendingVersion = stages.find(([, labels]) => labels.includes('AWSPENDING') && !labels.includes('AWSCURRENT'))?.[0];
    const value = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }));
    let document: RotatingKeyDocument | undefined;
    try {
      document = parseRotatingKeyDocument(value.SecretString ?? '');
    } catch (error) {
      throw new CliError(ExitCodes.refused, `the signing key secret holds no valid key set: ${(error as Error).message}`);
    }
    const days = description.RotationRules?.AutomaticallyAfterDays;
    const schedule =
      `rotation: ${description.RotationEnabled ? `on${days ? `, every ${days} days` : ''}` : 'OFF'}; ` +
      `last ${description.LastRotatedDate ? description.LastRotatedDate.toISOString() : 'never'}; next ${description.NextRotationDate ? description.NextRotationDate.toISOString() : '-'}` +
      (pendingVersion ? `; a rotation is in progress (version ${pendingVersion})` : '');
    return { document, rotationEnabled: description.RotationEnabled === true, pendingVersion, currentVersion, schedule };
  } catch (error) {
    throw awsFailure(error, 'Secrets Manager (signing key secret)');
  } finally {
    client.destroy();
  }
}

/**
 * Starts the scheduled rotation now (`RotateSecret`: Secrets Manager invokes
 * the stack's rotation function, whose testSecret step checks every key and
 * the continuity with the current set), refusing when rotation is off or one
 * is already running, then waits for AWSCURRENT to move.
 */
async function rotateStack(secretId: string, waitSeconds: number, io: CliIo): Promise<{ before?: RotatingKeyDocument; after?: RotatingKeyDocument }> {
  const start = await secretState(secretId);
  if (!start.rotationEnabled) throw new CliError(ExitCodes.refused, 'rotation is not enabled on the signing key secret; nothing started');
  if (start.pendingVersion) {
    throw new CliError(ExitCodes.refused, `a rotation is already in progress (version ${start.pendingVersion}); wait for it, or see the rotation function's log group`);
  }
  const { sdk, client } = await secretsManager();
  try {
    await client.send(new sdk.RotateSecretCommand({ SecretId: secretId }));
  } catch (error) {
    throw awsFailure(error, 'Secrets Manager RotateSecret');
  } finally {
    client.destroy();
  }
  io.stderr.write(`rotation started; waiting up to ${waitSeconds} s for it to finish\n`);
  const deadline = io.now() + waitSeconds * 1000;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const state = await secretState(secretId);
    if (!state.pendingVersion && state.currentVersion !== start.currentVersion) return { before: start.document, after: state.document };
    if (io.now() >= deadline) {
      throw new CliError(
        ExitCodes.unavailable,
        `the rotation did not finish within ${waitSeconds} s${state.pendingVersion ? ` (version ${state.pendingVersion} still pending)` : ''}: see the rotation function's log group (a failed check leaves the current keys in place)`,
      );
    }
  }
}
