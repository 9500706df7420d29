import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { TollgateConfigInput } from '../../src/config/config';
import { deployConfigFromText, type DeployConfig } from '../../src/config/deploy-config';
import { TollgateStack } from '../../cdk/tollgate-stack';

export const PROJECT_ROOT = join(__dirname, '..', '..');

/** The feature flags of cdk.json, so tests synthesize exactly as `npx cdk synth` does. */
export function cdkJsonContext(): Record<string, unknown> {
  return (JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
}

export interface SynthOptions {
  config: TollgateConfigInput;
  outdir?: string;
}

export interface SynthResult {
  app: App;
  stack: TollgateStack;
  deployConfig: DeployConfig;
  assembly: CloudAssembly;
  template: Template;
}

/**
 * Synthesizes the stack as bin/tollgate.ts does: cdk.json's feature flags
 * (CloudFormation validation failing on findings), cdk-nag's AWS Solutions
 * checks, an environment-agnostic stack, the prebuilt function assets of
 * `dist/assets` (the CDK project's globalSetup builds them when they are
 * missing or stale: test/cdk/build-assets.setup.ts). A finding makes
 * `app.synth()` throw.
 */
export function synthTollgate(options: SynthOptions): SynthResult {
  const app = new App({
    outdir: options.outdir,
    context: cdkJsonContext(),
  });
  const deployConfig = deployConfigFromText(JSON.stringify(options.config), 'test config');
  const stack = new TollgateStack(app, 'Tollgate', { deployConfig });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  return { app, stack, deployConfig, assembly, template: Template.fromJSON(assembly.getStackByName('Tollgate').template) };
}
