import { join } from 'node:path';
import { Annotations, App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ConfigError } from '../src/config/config';
import { EnvNames } from '../src/contract/env-names';
import { loadDeployConfig, type DeployConfig } from '../src/config/deploy-config';
import { TollgateStack } from '../cdk/tollgate-stack';
import { ensureAssets } from '../scripts/build-assets';

/**
 * The CDK app: `npx cdk synth|diff|deploy [-c config=path/to/tollgate.config.json] [-c stackName=Tollgate]`.
 *
 * The config comes from `-c config=…`, else `TOLLGATE_CONFIG`, else the
 * example config (synth only: the stack then carries a warning). The stack is
 * environment-agnostic (no account or region in the template), so synth needs
 * no AWS credentials; `cdk deploy` picks the account and region from the
 * caller's profile.
 *
 * The functions deployed are the prebuilt assets the package ships
 * (`dist/assets`, scripts/build-assets.ts): built here first when they are
 * missing or older than their sources, so synth, diff and deploy always use
 * the current ones and never bundle at synth.
 */
const projectRoot = join(import.meta.dirname, '..');
const EXAMPLE_CONFIG = join(projectRoot, 'cdk', 'example.config.json');

const assets = await ensureAssets();
if (assets.built) process.stderr.write(`tollgate: built the function assets (${assets.reason}) in ${assets.ms} ms\n`);

const app = new App();
const configPath: string = app.node.tryGetContext('config') ?? process.env[EnvNames.configFile] ?? EXAMPLE_CONFIG;
let deployConfig: DeployConfig;
try {
  deployConfig = loadDeployConfig(configPath);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

const stack = new TollgateStack(app, app.node.tryGetContext('stackName') ?? 'Tollgate', {
  deployConfig,
  description: 'Tollgate: token service and bearer-validated API proxy',
});
if (configPath === EXAMPLE_CONFIG) {
  Annotations.of(stack).addWarningV2(
    'tollgate:example-config',
    'Synthesized with cdk/example.config.json, which trusts an example repository. Pass -c config=path/to/your.config.json before deploying.',
  );
}

// cdk-nag's AWS Solutions rules run in synth; a finding fails it unless acknowledged, with a reason, at the narrowest scope.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
