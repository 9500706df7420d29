import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { FUNCTION_ASSETS } from '../../cdk/function-assets';
import { compositionOf, type BundleComposition } from '../bundle-composition';
import { ratioOf, spread, type Spread } from '../stats';

const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
const FLOOR_OUT = join(BENCH_DIR, '..', 'node_modules', '.cache', 'tollgate-bench', 'floor');

export interface BundleFigures {
  /** The function's construct path in the stack (`Tollgate/Api/Token`), or `floor`. */
  name: string;
  file: string;
  rawBytes: number;
  gzipBytes: number;
  /** `await import(bundle)` in a fresh Node process, milliseconds. */
  importMs: Spread;
  /** importMs ÷ the floor's, round by round. */
  importRatio?: Spread;
}

/** A bundle that could not be imported with its template's environment (an error of the run, not a figure). */
export interface BundleFailure {
  name: string;
  file: string;
  error: string;
}

export interface ColdStartFigures {
  floor: BundleFigures;
  functions: BundleFigures[];
  failures: BundleFailure[];
  runs: number;
  nodeVersion: string;
  /** The runtime the stack deploys (import times here are on the bench's Node, the `node` devDependency). */
  lambdaRuntime: string;
  /** Every function's bundle as the assets are built: bytes by package (bench/bundle-composition.ts). */
  composition: BundleComposition[];
}

/** A Lambda function of the synthesized stack and where its bundle is. */
interface StackFunction {
  name: string;
  memoryMb: number;
  runtime?: string;
  dir: string;
  file: string;
  environment: Record<string, string>;
}

/**
 * The esbuild options `NodejsFunction` runs for every Tollgate function, as
 * `cdk/tollgate-function.ts` sets them: bundle for Node, ESM, `module` before
 * `main`, minified with names kept, no source map, nothing external (the SDK
 * is bundled), target the deployed runtime (read from the synthesized
 * template). Keep the two in step: the floor only means something when it is
 * built like the functions.
 */
function esbuildTarget(runtime: string | undefined): string {
  const major = runtime?.match(/nodejs(\d+)/)?.[1];
  return major ? `node${major}` : 'node22';
}

async function buildFloor(target: string): Promise<string> {
  const outfile = join(FLOOR_OUT, 'index.mjs');
  await build({
    entryPoints: [join(BENCH_DIR, 'floor', 'floor-handler.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target,
    mainFields: ['module', 'main'],
    minify: true,
    keepNames: true,
    sourcemap: false,
    logLevel: 'error',
  });
  return outfile;
}

/** Reads the synthesized templates for Lambda functions whose code is a local asset directory. */
export function stackFunctions(cdkOut: string): StackFunction[] {
  const manifest = JSON.parse(readFileSync(join(cdkOut, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const functions: StackFunction[] = [];
  for (const artifact of Object.values(manifest.artifacts ?? {})) {
    if (artifact.type !== 'aws:cloudformation:stack' || !artifact.properties?.templateFile) continue;
    const template = JSON.parse(readFileSync(join(cdkOut, artifact.properties.templateFile), 'utf8')) as {
      Resources?: Record<string, { Type: string; Metadata?: Record<string, string>; Properties?: { Handler?: string; Runtime?: string; MemorySize?: number; Environment?: { Variables?: Record<string, unknown> } } }>;
    };
    for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const assetPath = resource.Metadata?.['aws:asset:path'];
      const handler = resource.Properties?.Handler;
      if (!assetPath || !handler) continue;
      const dir = join(cdkOut, assetPath);
      const moduleName = handler.slice(0, handler.lastIndexOf('.'));
      const file = ['.mjs', '.js', '.cjs'].map((ext) => join(dir, moduleName + ext)).find((candidate) => existsSync(candidate));
      if (!file) continue;
      const path = resource.Metadata?.['aws:cdk:path'] ?? logicalId;
      functions.push({
        name: path.replace(/\/(Function\/)?Resource$/, '').replace(/\/Function$/, ''),
        memoryMb: resource.Properties?.MemorySize ?? 128,
        runtime: resource.Properties?.Runtime,
        dir,
        file,
        environment: placeholderEnvironment(resource.Properties?.Environment?.Variables ?? {}),
      });
    }
  }
  return functions.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The function's environment with deploy-time references (table names, ARNs,
 * URLs) replaced by placeholders: importing a bundle builds its clients and
 * parses its config at module scope, and nothing here talks to AWS.
 */
function placeholderEnvironment(variables: Record<string, unknown>): Record<string, string> {
  const environment: Record<string, string> = { AWS_REGION: 'us-east-1', AWS_LAMBDA_FUNCTION_NAME: 'bench', POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'SILENT' };
  for (const [name, value] of Object.entries(variables)) {
    if (typeof value === 'string') environment[name] = value;
    else if (/URL|URI/.test(name)) environment[name] = 'https://bench.invalid';
    else environment[name] = `bench-${name.toLowerCase()}`;
  }
  return environment;
}

/** Imports the bundle in a fresh Node process and reports how long `import()` took, in milliseconds. */
function importOnce(file: string, environment: Record<string, string>): Promise<number> {
  const script = [
    "const { performance } = await import('node:perf_hooks');",
    // What the Lambda runtime puts on globalThis for response-streaming functions (the proxy), as a no-op here.
    'globalThis.awslambda ??= { streamifyResponse: (handler) => handler, HttpResponseStream: { from: (stream) => stream } };',
    'const start = performance.now();',
    `const module = await import(${JSON.stringify(pathToFileURL(file).href)});`,
    'const ms = performance.now() - start;',
    "if (typeof module.handler !== 'function') throw new Error('no handler export');",
    'process.stdout.write(String(ms));',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      const ms = Number(out);
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`importing ${file} failed (exit ${code}): ${err.trim().split('\n').slice(-4).map((line) => line.slice(0, 240)).join(' | ')}`));
    });
  });
}

function sizes(file: string): { rawBytes: number; gzipBytes: number } {
  const bytes = readFileSync(file);
  return { rawBytes: statSync(file).size, gzipBytes: gzipSync(bytes, { level: 9 }).length };
}

/** Why the section cannot run, or undefined when it can. */
export function coldStartUnavailable(cdkOut: string): string | undefined {
  if (!existsSync(join(cdkOut, 'manifest.json'))) return `no ${cdkOut}/manifest.json: run \`npm run synth\` first`;
  if (stackFunctions(cdkOut).length === 0) return `no Lambda function bundles in ${cdkOut}`;
  return undefined;
}

/**
 * 5. Cold start proxy: each function bundle's size and its import time in a
 * fresh Node process (median of `runs`), against a floor bundle of a handler
 * that only imports jose and the DynamoDB document client. Runs interleave
 * the bundles so drift lands on all of them.
 */
export async function benchColdStart(cdkOut: string, plan: { runs: number; warmup: boolean }): Promise<ColdStartFigures> {
  const stack = existsSync(join(cdkOut, 'manifest.json')) ? stackFunctions(cdkOut) : [];
  const runtime = stack[0]?.runtime;
  const floorFile = await buildFloor(esbuildTarget(runtime));
  const floorEnvironment = { AWS_REGION: 'us-east-1', FLOOR_TABLE: 'bench-sessions', FLOOR_ISSUER: 'https://bench.invalid' };
  const subjects = [{ name: 'floor (jose + DynamoDB document client)', file: floorFile, environment: floorEnvironment }, ...stack];
  const times = new Map<string, number[]>(subjects.map((subject) => [subject.file, []]));
  const failures = new Map<string, BundleFailure>();
  const measure = async (subject: (typeof subjects)[number], record: boolean) => {
    if (failures.has(subject.file)) return;
    try {
      const ms = await importOnce(subject.file, subject.environment);
      if (record) times.get(subject.file)!.push(ms);
    } catch (error) {
      failures.set(subject.file, { name: subject.name, file: subject.file, error: (error as Error).message });
    }
  };
  // One unmeasured import each first (file cache, a first compile of Node's own modules), unless time is short.
  if (plan.warmup) for (const subject of subjects) await measure(subject, false);
  for (let run = 0; run < plan.runs; run++) {
    for (const subject of subjects) await measure(subject, true);
  }
  const floorFailure = failures.get(floorFile);
  if (floorFailure) throw new Error(`the floor bundle does not import: ${floorFailure.error}`);
  const floorTimes = spread(times.get(floorFile)!);
  const figures = (subject: { name: string; file: string }): BundleFigures => {
    const importMs = spread(times.get(subject.file)!);
    return { name: subject.name, file: subject.file, ...sizes(subject.file), importMs, importRatio: ratioOf(importMs, floorTimes) };
  };
  const composition = await Promise.all(FUNCTION_ASSETS.map((entry) => compositionOf(entry)));
  return {
    composition,
    floor: figures(subjects[0]!),
    functions: stack.filter((fn) => !failures.has(fn.file)).map(figures),
    failures: [...failures.values()],
    runs: plan.runs,
    nodeVersion: process.version,
    lambdaRuntime: runtime ?? 'unknown (no synthesized stack)',
  };
}
