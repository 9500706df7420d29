// An outside CDK app as `cdk init` makes it (CommonJS, run by ts-node): the whole service from a config
// file, and an API of its own behind TollgateAuthorizer. Synthesized offline: no esbuild, no Docker.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { AuthorizationType, MockIntegration, RestApi } from 'aws-cdk-lib/aws-apigateway';
import { TollgateAuthorizer, TollgateService } from 'tollgate/cdk';

const outdir = process.argv[2] ?? 'cdk.out';
const app = new App({ outdir });
const stack = new Stack(app, 'Consumer');
const service = new TollgateService(stack, 'Tollgate', { configFile: join(__dirname, 'tollgate.config.json') });
const authorizer = new TollgateAuthorizer(stack, 'Authorizer', { issuer: service.issuer, routeScopes: { 'GET /orders': ['orders:read'] } });
const api = new RestApi(stack, 'Orders');
api.root.addResource('orders').addMethod('GET', new MockIntegration(), { authorizer: authorizer.forRestApi(), authorizationType: AuthorizationType.CUSTOM });

const assembly = app.synth();
const template = assembly.getStackByName('Consumer').template as { Resources: Record<string, { Type: string; Properties?: Record<string, any> }> };
const functions = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::Lambda::Function');
process.stdout.write(
  JSON.stringify({
    tables: Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::DynamoDB::Table').length,
    functions: functions.map((fn) => {
      // The default synthesizer names the asset's S3 key after its hash; synth staged it as asset.<hash>.
      const assetDir = join(outdir, `asset.${String(fn.Properties!.Code.S3Key).replace(/\.zip$/, '')}`);
      return {
        handler: fn.Properties!.Handler,
        runtime: fn.Properties!.Runtime,
        architectures: fn.Properties!.Architectures,
        files: readdirSync(assetDir),
        bundleBytes: readFileSync(join(assetDir, 'index.mjs')).length,
        description: fn.Properties!.Description,
      };
    }),
  }),
);
