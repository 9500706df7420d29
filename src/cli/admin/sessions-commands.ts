import { createInterface } from 'node:readline/promises';
import type { AdminSession, SessionQueryPlan } from '../../domain/session-filter';
import type { RevocationResult, SearchListener, SearchProgress } from '../../services/session-admin-service';
import type { CliIo } from '../run-cli';
import { CliError, ExitCodes, type ExitCode } from '../cli-error';
import type { AdminLine } from './admin-options';
import { sessionsRuntime, type SessionsRuntime } from './admin-runtime';
import { resolveTarget } from './admin-target';
import { awsFailure } from './aws-errors';
import { sessionDetail, sessionTable, summarize } from './session-output';

/** Sessions ended at once by `sessions revoke` (each is two small writes). */
const REVOKE_CONCURRENCY = 8;

/** Progress lines on a scan come at most this often. */
const PROGRESS_INTERVAL_MS = 1_000;

export async function sessionsCommand(line: AdminLine, io: CliIo): Promise<ExitCode> {
  const target = await resolveTarget(line.target, io.env);
  const runtime = sessionsRuntime(target, { now: io.now }, io.env);
  try {
    switch (line.action) {
      case 'sessions list':
        return await list(line, io, runtime);
      case 'sessions show':
        return await show(line, io, runtime);
      default:
        return await revoke(line, io, runtime);
    }
  } catch (error) {
    throw explainPartial(error, runtime.where) ?? awsFailure(error, `the sessions store (${runtime.where})`);
  } finally {
    runtime.close();
  }
}

async function list(line: AdminLine, io: CliIo, runtime: SessionsRuntime): Promise<ExitCode> {
  const now = Math.floor(io.now() / 1000);
  let count = 0;
  const table: ReturnType<typeof summarize>[] = [];
  for await (const session of runtime.service.search(line.filter, progressReporter(io))) {
    count += 1;
    // JSON lines stream as pages arrive (a big scan never sits in memory); the table needs every row for its widths.
    if (line.json) io.stdout.write(`${JSON.stringify(summarize(session, now))}\n`);
    else table.push(summarize(session, now));
  }
  if (table.length > 0) io.stdout.write(sessionTable(table));
  io.stderr.write(`${count} session${count === 1 ? '' : 's'} match\n`);
  return ExitCodes.ok;
}

async function show(line: AdminLine, io: CliIo, runtime: SessionsRuntime): Promise<ExitCode> {
  const sid = line.positionals[0]!;
  const session = await runtime.service.show(sid);
  if (!session) throw new CliError(ExitCodes.notFound, `no session ${sid} in ${runtime.where} (unknown, or expired out of the store)`);
  const summary = summarize(session, Math.floor(io.now() / 1000));
  io.stdout.write(line.json ? `${JSON.stringify(summary, null, 2)}\n` : sessionDetail(summary));
  return ExitCodes.ok;
}

async function revoke(line: AdminLine, io: CliIo, runtime: SessionsRuntime): Promise<ExitCode> {
  const now = Math.floor(io.now() / 1000);
  const targets = await revocationTargets(line, io, runtime);
  const active = targets.filter((session) => summarize(session, now).state === 'active');
  const summaries = active.map((session) => summarize(session, now));
  const alreadyEnded = targets.length - active.length;

  if (active.length === 0) {
    io.stderr.write(`no active session to end${alreadyEnded ? ` (${alreadyEnded} already ended)` : ''}; nothing changed\n`);
    return ExitCodes.ok;
  }
  if (line.dryRun) {
    printSessions(line, io, summaries);
    io.stderr.write(`dry run: would end ${active.length} session${active.length === 1 ? '' : 's'}; nothing changed\n`);
    return ExitCodes.ok;
  }
  if (!line.yes) await confirm(io, summaries.length, () => printSessions(line, io, summaries));

  const actor = await runtime.actor();
  let results: RevocationResult[];
  try {
    results = await mapBounded(active, REVOKE_CONCURRENCY, (session) => runtime.service.revoke(session.sid, { reason: line.reason!, actor }));
  } catch (error) {
    // The sessions ended before the failure count too.
    await runtime.publishMetrics().catch(() => undefined);
    throw error;
  }
  const revoked = results.filter((result): result is Extract<RevocationResult, { outcome: 'revoked' }> => result.outcome === 'revoked');
  const metrics = await runtime.publishMetrics();

  if (line.json) {
    for (const result of results) io.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    for (const result of results) io.stdout.write(`${result.sid}  ${result.outcome === 'revoked' ? 'revoked' : 'already ended'}\n`);
  }
  const unrecorded = revoked.filter((result) => !result.recorded).length;
  io.stderr.write(
    [
      `revoked ${revoked.length} session${revoked.length === 1 ? '' : 's'}` +
        (results.length - revoked.length + alreadyEnded > 0 ? ` (${results.length - revoked.length + alreadyEnded} had already ended)` : '') +
        ` by ${actor}: refresh fails at once; access tokens stop working at the proxy and /verify within proxy.sessionCacheSeconds (default 5 s), offline verifiers only at the token's exp (docs/security.md, "Revocation latency")`,
      ...(unrecorded > 0 ? [`warning: who and why could not be recorded on ${unrecorded} session(s) (ended by something else in the same second)`] : []),
      metrics === 'published'
        ? `metric: SessionRevoked{source=admin} +${revoked.length} published to CloudWatch`
        : metrics === 'local'
          ? `metric: SessionRevoked{source=admin} +${revoked.length} (local store: not published)`
          : '',
    ]
      .filter(Boolean)
      .join('\n') + '\n',
  );
  return ExitCodes.ok;
}

/** The sessions a revoke names: each given sid (all must exist: an unknown one stops everything first), or the filter's. */
async function revocationTargets(line: AdminLine, io: CliIo, runtime: SessionsRuntime): Promise<AdminSession[]> {
  if (line.positionals.length === 0) return runtime.service.find({ ...line.filter, state: 'active' }, progressReporter(io));
  const sessions: AdminSession[] = [];
  const missing: string[] = [];
  for (const sid of new Set(line.positionals)) {
    const session = await runtime.service.show(sid);
    if (session) sessions.push(session);
    else missing.push(sid);
  }
  if (missing.length > 0) {
    throw new CliError(ExitCodes.notFound, `no session ${missing.join(', ')} in ${runtime.where}; nothing changed`);
  }
  return sessions;
}

function printSessions(line: AdminLine, io: CliIo, summaries: ReturnType<typeof summarize>[]): void {
  if (line.json) for (const summary of summaries) io.stdout.write(`${JSON.stringify(summary)}\n`);
  else io.stdout.write(sessionTable(summaries));
}

/** Asks on the terminal; without one (CI, a pipe) there is nobody to ask, so it refuses. */
async function confirm(io: CliIo, count: number, show: () => void): Promise<void> {
  const interactive = io.stdinIsTTY ?? Boolean(process.stdin.isTTY);
  if (!interactive) {
    throw new CliError(
      ExitCodes.usage,
      `refusing to end ${count} session${count === 1 ? '' : 's'} without confirmation: stdin is not a terminal. Check with --dry-run, then run again with --yes`,
    );
  }
  show();
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`${count === 1 ? 'End this session' : `End these ${count} sessions`}? Type "yes" to go on: `);
    if (answer.trim() !== 'yes') throw new CliError(ExitCodes.refused, 'not confirmed; nothing changed');
  } finally {
    prompt.close();
  }
}

/** Says which index serves the search, or that it scans and why; then a progress line at most every second on a scan. */
function progressReporter(io: CliIo): SearchListener {
  let last = io.now();
  return {
    onPlan(plan: SessionQueryPlan) {
      io.stderr.write(
        plan.kind === 'index'
          ? `using index ${plan.index}\n`
          : `scanning the whole sessions table (${plan.why}); pages of 100 items, which costs reads on a big table\n`,
      );
    },
    onPage(progress: SearchProgress) {
      if (progress.plan.kind !== 'scan' || io.now() - last < PROGRESS_INTERVAL_MS) return;
      last = io.now();
      io.stderr.write(`  scanned ${progress.read} items in ${progress.pages} pages, ${progress.found} matching so far\n`);
    },
  };
}

/** `fn` over `items`, at most `limit` at a time, results in input order; the first failure stops new work and is thrown. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index]!);
      } catch (error) {
        failure ??= error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) {
    const done = results.filter((result) => result !== undefined).length;
    throw new PartialRevocationError(failure, done, items.length);
  }
  return results;
}

/** Some sessions were ended before the store failed: the message says how many, so the operator re-runs the same command. */
class PartialRevocationError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly done: number,
    readonly total: number,
  ) {
    super('partial revocation');
  }
}

export function explainPartial(error: unknown, where: string): CliError | undefined {
  if (!(error instanceof PartialRevocationError)) return undefined;
  const inner = awsFailure(error.cause, `the sessions store (${where})`);
  return new CliError(inner.exitCode, `${inner.message}; ${error.done} of ${error.total} sessions were ended before it; run the same command again to end the rest`);
}
