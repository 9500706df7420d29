import type { CommandName } from './cli-options';

const EXIT_CODES = `Exit codes:
  0   done (verify: the token is active)
  1   Tollgate refused (invalid_grant, invalid_scope, a proxy refusal); verify: the token is not active
  2   wrong command line
  3   no credentials: not in GitHub Actions and no subject token, no id-token: write, no refresh token, unreadable file
  4   Tollgate or the OIDC endpoint unreachable, unavailable (503/429 after retries), or a nonsense answer
  22  curl --fail: the upstream answered 400 or more
`;

const SESSION = `Where the session comes from and goes (refresh, revoke, verify, curl):
  --state-file <path>  a JSON file written by --state-file or --output json (kept at mode 0600)
  else the environment: TOLLGATE_URL, TOLLGATE_ACCESS_TOKEN, TOLLGATE_REFRESH_TOKEN, TOLLGATE_EXPIRES_AT
  (what --output env writes to GITHUB_ENV for the later steps of a job)
`;

const HELP: Record<CommandName | 'main', string> = {
  main: `tollgate: get and use Tollgate tokens from CI pipelines and shells

Usage: tollgate <command> [options]        tollgate <command> --help

Commands:
  exchange   exchange an identity token (the GitHub Actions OIDC token, or one you give) for a Tollgate session
  refresh    refresh the session: a new access token and a rotated refresh token
  revoke     end the session at Tollgate
  verify     introspect a token (is it active, what scope, which session)
  curl       call the upstream API through the Tollgate proxy, refreshing when needed

Operations (with AWS credentials for the deployed stack, or npm start's store; see docs/operations.md):
  sessions   list, show and revoke sessions: tollgate sessions --help
  keys       list and rotate the signing keys: tollgate keys --help
  config     check a config file, explain what an identity token would get: tollgate config --help

In a GitHub Actions job with \`permissions: id-token: write\`:
  npx tollgate exchange --url https://tollgate.example.com --scope "deploy"
writes TOLLGATE_ACCESS_TOKEN (masked) to GITHUB_ENV for the later steps.

${EXIT_CODES}`,

  exchange: `Usage: tollgate exchange --url <tollgate base url> [options]

Exchanges an identity token at POST /token (RFC 8693) for an access token and a refresh token.
The identity token is, in this order: --subject-token, --subject-token-file, TOLLGATE_SUBJECT_TOKEN,
or inside GitHub Actions the job's OIDC token (needs \`permissions: id-token: write\`).

Options:
  --url <url>                  Tollgate's base URL (or TOLLGATE_URL)
  --audience <aud>             audience of the GitHub OIDC token to request (default: tollgate);
                               must be one of the trust entry's "audiences"
  --scope "a b"                ask for these scopes only (default: all the trust rules grant)
  --output env|json|token      env (default in GitHub Actions): ::add-mask:: each token, then write
                                 TOLLGATE_URL, TOLLGATE_ACCESS_TOKEN, TOLLGATE_REFRESH_TOKEN, TOLLGATE_EXPIRES_AT
                                 to GITHUB_ENV and access-token, refresh-token, expires-at to GITHUB_OUTPUT;
                                 outside Actions, print \`export ...\` lines for eval
                               json (default elsewhere): the session as JSON on stdout
                               token: the access token alone on stdout
                               (in Actions, json and token print the ::add-mask:: commands on stderr)
  --state-file <path>          also keep the session in this file (mode 0600) for later commands
  --subject-token <jwt>        the identity token (visible in the process list: prefer the file)
  --subject-token-file <path>  read it from a file (- for stdin)
  --client-id <id>             recorded on the session
  -h, --help

${EXIT_CODES}`,

  refresh: `Usage: tollgate refresh [options]

Refreshes the session at POST /token (RFC 6749 §6). The refresh token rotates: the old one is spent,
so the new one is written where the old one came from (--output env in Actions, --state-file).

Options:
  --url <url>                  Tollgate's base URL (default: the session's, or TOLLGATE_URL)
  --scope "a b"                narrow the new access token's scope
  --output env|json|token      as for exchange
  --state-file <path>          read the refresh token from, and write the new session to, this file
  --refresh-token <token>      the refresh token (visible in the process list: prefer the file or env)
  --refresh-token-file <path>  read it from a file (- for stdin)
  --client-id <id>             the client id the session was created with, if any
  -h, --help

${SESSION}
${EXIT_CODES}`,

  revoke: `Usage: tollgate revoke [options]

Ends the whole session at POST /revoke (RFC 7009). Tollgate answers the same whether or not the
token named a live session, so a second revoke also succeeds. Clears the session where it came from.

Options:
  --url <url>            Tollgate's base URL (default: the session's, or TOLLGATE_URL)
  --token <token>        revoke this token (access or refresh) instead of the session's refresh token
  --token-file <path>    read it from a file (- for stdin)
  --state-file <path>    revoke the session in this file, then delete the file
  -h, --help

${SESSION}
${EXIT_CODES}`,

  verify: `Usage: tollgate verify [options]

Introspects a token at POST /verify (RFC 7662) and prints the answer as JSON on stdout.
Exits 0 when the token is active, 1 when it is not.

Options:
  --url <url>            Tollgate's base URL (default: the session's, or TOLLGATE_URL)
  --token <token>        the token (default: the session's access token)
  --token-file <path>    read it from a file (- for stdin)
  --state-file <path>    the session to take the access token from
  -h, --help

${SESSION}
${EXIT_CODES}`,

  curl: `Usage: tollgate curl <path> [-X METHOD] [-H "Name: value"]... [-d data]... [-i] [-f]

Calls <path> on the upstream API through the Tollgate proxy (<url>/proxy<path>) with the session's
access token, refreshing it first when it is about to expire and after a TOKEN_EXPIRED answer.
Without a session it exchanges first, like exchange (GitHub OIDC token, --subject-token-file,
TOLLGATE_SUBJECT_TOKEN). A renewed session is written back (GITHUB_ENV in Actions, --state-file).
The upstream's body goes to stdout unchanged.

Options:
  -X, --request <method>         default GET, or POST with -d
  -H, --header "Name: value"     add a request header (repeatable)
  -d, --data <data>              request body; @file reads a file, @- stdin; several are joined with &;
                                 sent as is (unlike curl, newlines are kept); default content type
                                 application/x-www-form-urlencoded, as curl's
  -i, --include                  print the status line and response headers first
  -f, --fail                     exit 22 when the upstream answers 400 or more
  --url <url>                    Tollgate's base URL (default: the session's, or TOLLGATE_URL)
  --state-file <path>            the session file (read and written back)
  --audience <aud>               audience of the GitHub OIDC token when a session must be started
  --subject-token-file <path>    identity token to start a session with when there is none
  -h, --help

${SESSION}
${EXIT_CODES}`,
};

/** The help text of a command, or the overview. */
export function helpText(command?: CommandName): string {
  return HELP[command ?? 'main'];
}
