import { ensureAssets } from '../../scripts/build-assets';

/**
 * Jest globalSetup of the `cdk` project: the constructs deploy the prebuilt
 * function assets in `dist/assets`, so they are built first when missing or
 * older than their sources (a fresh clone, an edited handler). Current
 * assets cost only the hashing of their recorded inputs.
 */
export default async function buildAssetsForCdkTests(): Promise<void> {
  const result = await ensureAssets();
  if (result.built) process.stderr.write(`\ncdk tests: built the function assets (${result.reason}) in ${result.ms} ms\n`);
}
