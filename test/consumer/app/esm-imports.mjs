// Every subpath of the installed package, from an ES module.
import * as client from 'tollgate/client';
import * as verify from 'tollgate/verify';
import * as cdk from 'tollgate/cdk';
import schema from 'tollgate/config.schema.json' with { type: 'json' };

const result = {
  client: Object.keys(client).sort(),
  verify: Object.keys(verify).sort(),
  cdk: Object.keys(cdk).sort(),
  schemaTitle: schema.title,
  // The SharedWorker script is served by the app, not imported: it only has to resolve to the shipped file.
  worker: import.meta.resolve('tollgate/client/worker').endsWith('/dist/client/tollgate-worker.js'),
};
process.stdout.write(JSON.stringify(result));
