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
};
process.stdout.write(JSON.stringify(result));
