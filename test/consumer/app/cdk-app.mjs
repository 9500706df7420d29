// The same service from a plain ES module CDK app (no TypeScript), with the config given inline.
import { App, Stack } from 'aws-cdk-lib';
import { TollgateAuthorizer, TollgateService } from 'tollgate/cdk';
import { readFileSync } from 'node:fs';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'EsmConsumer');
const config = JSON.parse(readFileSync(new URL('./tollgate.config.json', import.meta.url), 'utf8'));
const service = new TollgateService(stack, 'Tollgate', { config });
new TollgateAuthorizer(stack, 'Authorizer', { issuer: service.issuer });
const template = app.synth().getStackByName('EsmConsumer').template;
const types = Object.values(template.Resources).map((resource) => resource.Type);
process.stdout.write(JSON.stringify({ functions: types.filter((type) => type === 'AWS::Lambda::Function').length, tables: types.filter((type) => type === 'AWS::DynamoDB::Table').length }));
