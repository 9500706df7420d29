import { ConfigError } from '../config/config';
import { startLocalTollgate } from './local-tollgate';

/**
 * `npm start`: Tollgate locally, no AWS account, no Docker.
 * PORT (8787), TOLLGATE_CONFIG (else the dev default), TOLLGATE_DATA_DIR
 * (keeps the store on disk), DYNAMODB_ENDPOINT (use another store).
 */
async function main(): Promise<void> {
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'tollgate-local';
  const dataDir = process.env.TOLLGATE_DATA_DIR;
  const tollgate = await startLocalTollgate({
    port: Number(process.env.PORT ?? 8787),
    dataDir: dataDir ?? '.tollgate',
    persist: Boolean(dataDir),
    dynamodbEndpoint: process.env.DYNAMODB_ENDPOINT,
  });
  const url = tollgate.baseUrl;
  // The readiness line: `startLocalTollgate` resolves once the port is listened on with every route served, so a
  // request sent after this line (or even before it, once the port accepts) is answered (issue 13.9).
  process.stdout.write(
    [
      `Tollgate is listening on ${url}`,
      `  store:       ${process.env.DYNAMODB_ENDPOINT ? process.env.DYNAMODB_ENDPOINT : `embedded dynalite at ${tollgate.storeEndpoint}${dataDir ? ` (on disk in ${dataDir}/store)` : ' (in memory)'}`}`,
      `  config:      ${process.env.TOLLGATE_CONFIG ?? 'built-in dev config (trusts the dev issuer)'}`,
      `  dev issuer:  ${tollgate.devIssuer.githubIssuer} (GitHub-like), ${tollgate.devIssuer.clerkIssuer} (Clerk-like)`,
      `  metadata:    ${url}/.well-known/oauth-authorization-server`,
      '',
      'Get a first token:',
      `  SUBJECT=$(npm run -s dev:token -- ci --repository acme/app)`,
      `  curl -s ${url}/token -d grant_type=urn:ietf:params:oauth:grant-type:token-exchange \\`,
      `    -d subject_token_type=urn:ietf:params:oauth:token-type:jwt --data-urlencode subject_token="$SUBJECT"`,
      '',
    ].join('\n'),
  );
  const stop = () => {
    tollgate.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(error instanceof ConfigError ? `${error.message}\n` : `tollgate failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
