// Every subpath of the installed package, from CommonJS: tollgate/cdk is built for require(); the ESM-only
// client and verifier load through import() (and through require() on Node versions that load ES modules).
const cdk = require('tollgate/cdk');

(async () => {
  const client = await import('tollgate/client');
  const verify = await import('tollgate/verify');
  const schema = require('tollgate/config.schema.json');
  process.stdout.write(
    JSON.stringify({
      client: Object.keys(client).sort(),
      verify: Object.keys(verify).sort(),
      cdk: Object.keys(cdk).sort(),
      schemaTitle: schema.title,
      worker: require.resolve('tollgate/client/worker').endsWith('/dist/client/tollgate-worker.js'),
    }),
  );
})().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
