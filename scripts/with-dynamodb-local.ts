/**
 * `npm run test:dynamodb-local`: starts DynamoDB Local (the AWS jar shipped in
 * the npm package amplify-dynamodb-simulator, under the machine's Java) in
 * memory on a loopback port, runs the integration suites against it, and
 * stops it. Tollgate's code is unchanged: only DYNAMODB endpoints differ.
 *
 * The suites run the way a user's shell is set up when they also deploy: a
 * real region (`AWS_REGION=eu-west-1`) and access keys in the environment
 * (fake ones, `AKIA…EXAMPLE`), never the local defaults, so every client
 * Tollgate builds signs with them (issue 13.10: tables created by one client
 * configuration and used by another land in different DynamoDB Local
 * databases). A value the caller already set is kept.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const emulator = join(dirname(require.resolve('amplify-dynamodb-simulator/package.json')), 'emulator');

/** What a deploying user's shell has: a region and (here fake) keys, AWS's documented example ones. */
const SHELL_LIKE_AWS_ENV = {
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitForStore(endpoint: string, deadlineMs: number): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < deadlineMs) {
    try {
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'DynamoDB_20120810.ListTables',
          authorization: 'AWS4-HMAC-SHA256 Credential=local/20200101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=x',
        },
        body: '{}',
      });
      if (response.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`DynamoDB Local did not start within ${deadlineMs} ms`);
}

async function main(): Promise<number> {
  const port = await freePort();
  const java = spawn(
    'java',
    // -sharedDb: one database whatever the credentials and region, like one AWS account: the suites' own inspection clients
    // sign with 'local' keys. Without it DynamoDB Local keeps a database per key and region, which test/local/npm-start.int.test.ts
    // reproduces (a store per signing key and region) for `npm start` in every run.
    ['-Djava.library.path=./DynamoDBLocal_lib', '-jar', 'DynamoDBLocal.jar', '-inMemory', '-sharedDb', '-port', String(port)],
    { cwd: emulator, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitForStore(endpoint, 60_000);
    process.stdout.write(`DynamoDB Local listening on ${endpoint}\n`);
    // The caller's jest arguments first: `--selectProjects` takes every word after it, so paths after it were read as project names.
    const jest = spawn('npx', ['jest', ...process.argv.slice(2), '--selectProjects', 'integration'], {
      stdio: 'inherit',
      env: { ...SHELL_LIKE_AWS_ENV, ...process.env, TOLLGATE_TEST_DYNAMODB_ENDPOINT: endpoint },
    });
    return await new Promise<number>((resolve) => jest.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    java.kill('SIGTERM');
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  },
);
