/**
 * `npm run dev:token -- ci --repository acme/app` / `npm run dev:token -- user --sub user_123 --role api-client`:
 * asks the running local server's dev identity issuer for a GitHub-like or
 * Clerk-like token and prints it.
 */
const USAGE = `usage: npm run -s dev:token -- <ci|user> [options]

ci   (GitHub Actions-like OIDC token)
  --repository owner/name   (acme/app)      --ref refs/heads/main
  --environment name                        --actor octocat
  --audience tollgate                       --repository-id / --owner-id  (derived from the name)
  --immutable-sub           use GitHub's 2026 immutable sub format
user (Clerk-like session token)
  --sub user_123            --role api-client (metadata.role)
  --org org_1 --org-role admin              --azp http://localhost:3000
  --pending                 sts: "pending"
both
  --ttl seconds  (ci 300, user 60)          --url http://127.0.0.1:8787 (or TOLLGATE_URL)
`;

const FLAGS: Record<string, string> = {
  '--repository': 'repository',
  '--repository-id': 'repositoryId',
  '--owner-id': 'ownerId',
  '--ref': 'ref',
  '--environment': 'environment',
  '--actor': 'actor',
  '--audience': 'audience',
  '--sub': 'sub',
  '--sid': 'sid',
  '--role': 'role',
  '--org': 'orgId',
  '--org-role': 'orgRole',
  '--azp': 'azp',
  '--ttl': 'ttlSeconds',
};
const SWITCHES: Record<string, string> = { '--immutable-sub': 'immutableSub', '--pending': 'pending' };

async function main(argv: string[]): Promise<number> {
  const [kind, ...rest] = argv;
  if (kind !== 'ci' && kind !== 'user') {
    process.stderr.write(USAGE);
    return kind === '--help' || kind === '-h' ? 0 : 2;
  }
  const body: Record<string, unknown> = { kind };
  let url = process.env.TOLLGATE_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8787}`;
  for (let i = 0; i < rest.length; i++) {
    const flag = rest[i]!;
    if (flag === '--url') url = rest[++i] ?? url;
    else if (SWITCHES[flag]) body[SWITCHES[flag]] = true;
    else if (FLAGS[flag] && rest[i + 1] !== undefined) {
      const value = rest[++i]!;
      body[FLAGS[flag]] = flag === '--ttl' ? Number(value) : value;
    } else {
      process.stderr.write(`unknown or incomplete option ${flag}\n\n${USAGE}`);
      return 2;
    }
  }
  let response: Response;
  try {
    response = await fetch(`${url.replace(/\/$/, '')}/dev/mint`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    process.stderr.write(`cannot reach Tollgate at ${url}: is \`npm start\` running?\n`);
    return 1;
  }
  const result = (await response.json()) as { token?: string; error_description?: string };
  if (!response.ok || !result.token) {
    process.stderr.write(`dev issuer refused: ${result.error_description ?? response.status}\n`);
    return 1;
  }
  process.stdout.write(`${result.token}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
