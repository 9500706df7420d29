import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import { ROOT, buildAssets } from './build-assets';
import { ACTION_BUILD_OPTIONS, CLI_BUILD_OPTIONS, CLIENT_BUILD_OPTIONS, CLIENT_WORKER_BUILD_OPTIONS, DIST, sideEffectFree, VERIFY_BUILD_OPTIONS } from './build-options';
import { COMMITTED_SCHEMA_PATH, configJsonSchema, configTypeExpressions } from './config-schema';

/**
 * `npm run build [-- part …]`: everything the package ships, into `dist/`.
 *
 * | part | output | what |
 * |---|---|---|
 * | assets | `dist/assets/<fn>/index.mjs` | one bundle per Lambda function (scripts/build-assets.ts) |
 * | client | `dist/client/index.js`, `dist/client/tollgate-worker.js` | `tollgate/client` and `tollgate/client/worker` (its SharedWorker script): ESM, platform-neutral, no dependencies |
 * | verify | `dist/verify/index.js` | `tollgate/verify`: ESM, platform-neutral, jose left external |
 * | cli | `dist/cli/tollgate.mjs` (+ `chunks/`) | the `tollgate` bin: everything bundled, Node alone runs it |
 * | cdk | `dist/cdk/index.js`, `index.cjs` | `tollgate/cdk`: the constructs for ESM and CommonJS apps; aws-cdk-lib and constructs external |
 * | types | `dist/types/**.d.ts` | declarations of every export (TypeScript's own emitter) |
 * | schema | `dist/config.schema.json`, `cdk/config.schema.json` | the config's JSON Schema, from the zod schema (shipped; committed for the example config) |
 * | action | `dist/action/index.mjs` | the GitHub Action (committed; not in the package) |
 *
 * Without arguments every part but `action` is built (what `prepack` runs).
 */
const PACKAGE_PARTS = ['assets', 'client', 'verify', 'cli', 'cdk', 'types', 'schema'] as const;
const ALL_PARTS = [...PACKAGE_PARTS, 'action'] as const;
type Part = (typeof ALL_PARTS)[number];

/** Where the CommonJS build of the constructs finds its own URL (the source uses `import.meta.url`). */
const CJS_URL_BANNER = "const __tollgateModuleUrl = require('node:url').pathToFileURL(__filename).href;";

/**
 * The constructs import a few constants from modules that also import the
 * Lambda runtime's libraries (table index names next to the DynamoDB store,
 * for example). Nothing of those libraries runs at synth: treating them as
 * free of side effects lets esbuild drop them from the constructs' bundle.
 */
const RUNTIME_LIBRARIES_UNUSED_AT_SYNTH = sideEffectFree('runtime-libraries-unused-at-synth', /^(@aws-sdk|@smithy|@aws-lambda-powertools|@middy)\//);

function cdkBuildOptions(format: 'esm' | 'cjs'): BuildOptions {
  return {
    entryPoints: [join(ROOT, 'cdk', 'index.ts')],
    bundle: true,
    format,
    platform: 'node',
    target: 'node20',
    mainFields: ['module', 'main'],
    // The app's own copies: construct classes must be the app's for `instanceof` and the construct tree.
    external: ['aws-cdk-lib', 'aws-cdk-lib/*', 'constructs'],
    outfile: join(DIST, 'cdk', format === 'esm' ? 'index.js' : 'index.cjs'),
    ...(format === 'cjs' ? { define: { 'import.meta.url': '__tollgateModuleUrl' }, banner: { js: CJS_URL_BANNER } } : {}),
    plugins: [RUNTIME_LIBRARIES_UNUSED_AT_SYNTH],
    logLevel: 'error',
  };
}

async function buildTypes(): Promise<void> {
  const outDir = join(DIST, 'types');
  rmSync(outDir, { recursive: true, force: true });
  // TypeScript 7 (native) emits declarations for the entry points tsconfig.types.json lists; esbuild has no type information.
  execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', join(ROOT, 'tsconfig.types.json')], { cwd: ROOT, stdio: 'inherit' });
  for (const file of [...walk(outDir)].filter((name) => name.endsWith('.d.ts'))) {
    let text = withExtensions(file, readFileSync(file, 'utf8'));
    if (relative(outDir, file) === join('src', 'config', 'config.d.ts')) text = withoutZod(file, text);
    writeFileSync(file, text);
    // The same declarations as CommonJS (`.d.cts` naming `.cjs`), for `require('tollgate/cdk')` under node16/nodenext:
    // this package is "type": "module", so a `.d.ts` here describes an ES module, which a CommonJS file cannot require.
    writeFileSync(file.replace(/\.d\.ts$/, '.d.cts'), text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*)\.js\2/g, '$1$2$3.cjs$2'));
  }
}

/**
 * The config module's declarations describe its types through zod
 * (`z.input<typeof configSchema>`), which the package does not depend on: the
 * schema's declaration goes, and the two config types become the plain
 * TypeScript types printed from its JSON Schemas. Fails the build when the
 * module's shape changed so that this no longer applies.
 */
function withoutZod(file: string, text: string): string {
  const { input, output } = configTypeExpressions();
  const lines = text.split('\n');
  const kept: string[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    if (line === "import * as z from 'zod';" || line.startsWith('type Fits<')) continue;
    // Multi-line declarations that only zod can describe: the schema itself and the compile-time check that the schema produces the domain's types.
    if (line.startsWith('export declare const configSchema') || line.startsWith('export type SchemaProducesDomainShapes')) {
      while (index + 1 < lines.length && !/^(export |declare |type |import |\/\*\*)/.test(lines[index + 1]!)) index++;
      continue;
    }
    kept.push(line);
  }
  const result = kept
    .join('\n')
    .replace('z.input<typeof configSchema>', input)
    .replace('DeepReadonly<z.output<typeof configSchema>>', `DeepReadonly<${output}>`);
  if (/\bz\.|'zod'|configSchema/.test(result)) throw new Error(`${relative(ROOT, file)}: zod is still named after removing it; update withoutZod in scripts/build.ts`);
  return result;
}

/**
 * The sources import extensionless (`./tollgate-client`, bundler resolution);
 * a consumer on `moduleResolution: node16/nodenext` needs `./tollgate-client.js`
 * in an ESM declaration file, or the import silently resolves to nothing.
 */
function withExtensions(file: string, text: string): string {
  return text.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*)\2/g, (match, prefix: string, quote: string, specifier: string) => {
    if (/\.(js|mjs|cjs|json)$/.test(specifier)) return match;
    const base = join(dirname(file), specifier);
    if (existsSync(`${base}.d.ts`)) return `${prefix}${quote}${specifier}.js${quote}`;
    if (existsSync(join(base, 'index.d.ts'))) return `${prefix}${quote}${specifier}/index.js${quote}`;
    throw new Error(`${relative(ROOT, file)}: cannot resolve ${specifier}`);
  });
}

function* walk(directory: string): Generator<string> {
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

const BUILDERS: Record<Part, () => Promise<unknown>> = {
  assets: () => buildAssets(),
  client: () => Promise.all([build(CLIENT_BUILD_OPTIONS), build(CLIENT_WORKER_BUILD_OPTIONS)]),
  verify: () => build(VERIFY_BUILD_OPTIONS),
  cli: async () => {
    rmSync(join(DIST, 'cli'), { recursive: true, force: true });
    await build(CLI_BUILD_OPTIONS);
  },
  cdk: () => Promise.all([build(cdkBuildOptions('esm')), build(cdkBuildOptions('cjs'))]),
  types: buildTypes,
  // The shipped copy, and the committed one the example config names (test/config/config-schema.test.ts keeps them equal).
  schema: async () => {
    mkdirSync(DIST, { recursive: true });
    writeFileSync(join(DIST, 'config.schema.json'), configJsonSchema());
    writeFileSync(join(ROOT, COMMITTED_SCHEMA_PATH), configJsonSchema());
  },
  action: () => build(ACTION_BUILD_OPTIONS),
};

/** Builds the parts asked for, in parallel except the declarations (tsc takes both cores). */
export async function buildParts(parts: readonly Part[]): Promise<void> {
  const started = performance.now();
  await Promise.all(parts.filter((part) => part !== 'types').map((part) => BUILDERS[part]()));
  if (parts.includes('types')) await BUILDERS.types();
  process.stderr.write(`built ${parts.join(', ')} in ${Math.round(performance.now() - started)} ms\n`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((part) => !(ALL_PARTS as readonly string[]).includes(part));
  if (unknown.length > 0) {
    process.stderr.write(`unknown part ${unknown.join(', ')}; the parts are ${ALL_PARTS.join(', ')}\n`);
    process.exit(2);
  }
  await buildParts(asked.length > 0 ? (asked as Part[]) : PACKAGE_PARTS);
}
