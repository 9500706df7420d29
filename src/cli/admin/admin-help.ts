import type { AdminAction, AdminGroup } from './admin-options';

export const ADMIN_EXIT_CODES = `Exit codes:
  0   done (sessions list: also when nothing matches)
  1   refused: config check found problems; config explain: the token would be refused;
      keys rotate: the rotation's checks failed or a rotation is running; not confirmed
  2   wrong command line: unknown option, bad filter or time, missing --reason,
      revoke without --yes when stdin is not a terminal, no store given
  3   no AWS credentials, or the caller lacks a permission (docs/operations.md: operator policies)
  4   the store, CloudFormation, STS, Secrets Manager or CloudWatch cannot be reached or failed
  5   no such session (show, revoke <sid>), no such stack, or the stack lacks an output
`;

const TARGET = `Where (every sessions and keys command):
  --stack <name>          a deployed stack: its CloudFormation outputs name the table and secret
                          (or TOLLGATE_STACK); region and credentials from the usual AWS environment
  --outputs <file>        the stack's outputs from \`cdk deploy --outputs-file <file>\` instead
  --endpoint <url>        a local store (or DYNAMODB_ENDPOINT): the one \`npm start\` prints
  --sessions-table <name> local table name (or TOLLGATE_SESSIONS_TABLE; default tollgate-sessions)
  --keys-file <path>      local signing key file (or TOLLGATE_SIGNING_KEYS_FILE;
                          default $TOLLGATE_DATA_DIR/signing-keys.json, .tollgate/ without it)
`;

const FILTERS = `Filters (all given must hold; values with * are globs: * any run without /, ** anything):
  --sub <subject>          the access tokens' sub, <trust>:<sub> (e.g. clerk:user_123)
  --trust <name>           the trust entry the session came from
  --kind user|ci
  --client-id <id>
  --upstream-sid <id>      the identity provider's session id (Clerk sid)
  --repository <owner/name>          GitHub context, as the session's tokens carry it in gh
  --gh <field>=<value>     any other: repository_id, repository_owner, repository_owner_id, ref,
                           workflow, job_workflow_ref, run_id, run_attempt, environment, actor,
                           event_name, sha (repeatable)
  --created-after <time>   inclusive; ISO 8601 with zone (2026-12-06T14:00:00Z), a date,
  --created-before <time>  exclusive;  epoch seconds, or a duration ago (15m, 2h, 7d)
  --active | --ended       usable now, or revoked/ended/past a limit

Indexes: an exact --sub, --upstream-sid, --repository or --trust (or a --sub glob starting with a
literal "<trust>:") is served by an index; the created range narrows the repository and trust
indexes. Anything else scans the whole table in pages of 100 items; the command says so on stderr
and prints progress every second.
`;

const HELP: Record<AdminGroup, string> & Partial<Record<AdminAction, string>> = {
  sessions: `Usage: tollgate sessions list|show|revoke [options]      tollgate sessions <command> --help

For operators with AWS credentials for the deployed stack (or a local store):
  list     find sessions by subject, repository, trust entry, client, time, state
  show     one session in full
  revoke   end sessions as POST /revoke does, recording who and why

${ADMIN_EXIT_CODES}`,
  'sessions list': `Usage: tollgate sessions list [filters] [--json]

Prints the matching sessions as a table, or with --json one JSON object per line:
sid, sub, trust, kind, clientId, scopes, state, status, sidCreatedAt, sidExpiry, idleExpiry,
refreshCount, lastRefreshAt, endReason, endedAt, adminRevocation, upstreamSid, dpopJkt, context
(times in epoch seconds). Never a token or a token hash. The count goes to stderr.

${FILTERS}
${TARGET}
${ADMIN_EXIT_CODES}`,
  'sessions show': `Usage: tollgate sessions show <sid> [--json]

One session in full (the same fields as list --json). Exit 5 when there is no such session.
A sid that starts with "-" goes after --sid= (or after --).

${TARGET}
${ADMIN_EXIT_CODES}`,
  'sessions revoke': `Usage: tollgate sessions revoke (<sid>... | [filters] | --all) --reason "<why>" [--dry-run] [--yes] [--json]

Ends each active session as POST /revoke does (the same store write), records on it who
(the caller's AWS identity from STS GetCallerIdentity, or "local") and why (--reason), and
publishes SessionRevoked{source=admin} to CloudWatch. Refresh fails at once; access tokens stop
working at the proxy and /verify within proxy.sessionCacheSeconds (default 5 s); offline
verifiers accept them until their exp (docs/security.md, "Revocation latency").

  --reason "<why>"   required; recorded on every session (one line, at most 500 characters)
  --dry-run          print how many and which sessions would end; change nothing
  --yes, -y          do not ask. Without it the command asks on the terminal, and refuses (exit 2)
                     when stdin is not a terminal (CI, a pipe)
  --all              every active session (instead of sids or filters)
  --sid=<sid>        a sid (repeatable): the way to give one that starts with "-" (or after --)
  Given sids must all exist (exit 5 otherwise, nothing changed). Sessions already ended are left as they are.

${FILTERS}
${TARGET}
${ADMIN_EXIT_CODES}`,
  keys: `Usage: tollgate keys list|rotate [options]

  list     the published signing keys: kid, algorithm, state (current/next/retired), created, retires
  rotate   run the scheduled rotation now, with its checks

${ADMIN_EXIT_CODES}`,
  'keys list': `Usage: tollgate keys list [--json] [--config <file>]

For a stack, reads the signing key secret (its value holds private keys: the command prints key
ids, algorithms and dates only) and its rotation schedule. --config gives accessTokenTtlSeconds,
which decides when a retired key is unpublished (default 900 s).

${TARGET}
${ADMIN_EXIT_CODES}`,
  'keys rotate': `Usage: tollgate keys rotate [--wait <seconds>] [--json] [--config <file>]

Runs the rotation the schedule runs, now. A stack: Secrets Manager RotateSecret on the signing key
secret (refused when rotation is off or one is running), which invokes the stack's rotation
function with its checks (every key signs and verifies; the signing key stays published), then
waits for it (--wait, default 120 s). Locally: the same steps on the key file.

A rotation promotes the staged key only once it has been published long enough for every cache
to hold it (15 minutes by default), and stages a fresh one; retired keys stay published until
their last tokens expired. So "a new signing key now" is: rotate (stages), then rotate again
after the delay (promotes). The summary says which happened.

${TARGET}
${ADMIN_EXIT_CODES}`,
  config: `Usage: tollgate config check|explain <file> [options]

  check     validate a config file as cdk synth does; every problem by its path
  explain   which trust entry an identity token would match, and what it would get (offline)

${ADMIN_EXIT_CODES}`,
  'config check': `Usage: tollgate config check <file> [--local] [--json]

Validates the file as \`cdk synth\` does: the schema (every problem at once, by its path, e.g.
trust[0].rules[1].scopes: expected a non-empty list), then the deployment checks (no env: secret
refs, aws.routeThrottle names real routes, the functions' config fits Lambda's environment).
--local checks it as npm start does (the schema alone). Exit 1 when there is any problem.

${ADMIN_EXIT_CODES}`,
  'config explain': `Usage: tollgate config explain <file> --token <jwt | file | -> [--json]

Shows which trust entry the identity token (a GitHub Actions OIDC token, a Clerk session token)
would match, which of the verifier's checks and which rule conditions held or failed, and the
scopes an exchange would grant. Offline: the token is decoded here, sent nowhere and never
printed (its claims are). The signature is NOT checked: that needs the issuer's keys.
Exit 0 when an exchange would be granted scopes, 1 when it would be refused.

${ADMIN_EXIT_CODES}`,
};

export function adminHelp(group: AdminGroup, action?: AdminAction): string {
  return (action && HELP[action]) || HELP[group];
}
