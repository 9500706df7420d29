import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The import rules of `.dependency-cruiser.cjs`, run by `npm run lint:imports`
 * on a miniature tree: every layer importing the right way passes, and each
 * wrong-way import is named with its rule. The tree lives in a temporary
 * directory, so the project's own sources are never touched.
 */
const root = join(__dirname, '..', '..');
const cruiser = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');

/** One file per layer, each importing only what its layer may. */
const CLEAN: Record<string, string> = {
  'src/contract/names.ts': "export const TABLE_INDEX = 'bySubject';\n",
  'src/domain/rule.ts': "import { createHash } from 'node:crypto';\nimport { TABLE_INDEX } from '../contract/names';\nexport const rule = () => createHash('sha256').update(TABLE_INDEX).digest('hex');\n",
  'src/domain/claims.ts': "import { TABLE_INDEX } from '../contract/names';\nexport const claims = () => TABLE_INDEX;\n",
  'src/ports/store.ts': "import type { rule } from '../domain/rule';\nexport interface Store { get(key: ReturnType<typeof rule>): Promise<string> }\n",
  'src/config/config.ts': "import { rule } from '../domain/rule';\nexport type Config = { key: string };\nexport const loadConfig = (): Config => ({ key: rule() });\n",
  'src/services/service.ts': "import type { Store } from '../ports/store';\nimport type { Config } from '../config/config';\nexport const service = (store: Store, config: Config) => store.get(config.key);\n",
  'src/adapters/store-impl.ts': "import type { Store } from '../ports/store';\nexport const store: Store = { get: async (key) => key };\n",
  'src/observability/telemetry.ts': "import type { Store } from '../ports/store';\nexport const wrap = (store: Store) => store;\n",
  'src/http/errors.ts': "import { rule } from '../domain/rule';\nexport const mapError = () => rule();\n",
  'src/handlers/handler.ts': "import { service } from '../services/service';\nimport { mapError } from '../http/errors';\nimport type { Services } from '../app/compose';\nexport const handler = (services: Services) => service(services.store, services.config).catch(mapError);\n",
  'src/app/compose.ts': "import { store } from '../adapters/store-impl';\nimport { loadConfig } from '../config/config';\nexport const compose = () => ({ store, config: loadConfig() });\nexport type Services = ReturnType<typeof compose>;\n",
  'src/lambda/fn.ts': "import { compose } from '../app/compose';\nimport { handler } from '../handlers/handler';\nexport const main = () => handler(compose());\n",
  'src/local/main.ts': "import { compose } from '../app/compose';\nimport { handler } from '../handlers/handler';\nexport const serve = () => handler(compose());\n",
  'src/client/client.ts': "import { TABLE_INDEX } from '../contract/names';\nexport const client = () => TABLE_INDEX;\n",
  'src/verifier/verifier.ts': "import { claims } from '../domain/claims';\nexport const verify = () => claims();\n",
  'cdk/stack.ts': "import { TABLE_INDEX } from '../src/contract/names';\nimport type { Config } from '../src/config/config';\nexport const stack = (config: Config) => [TABLE_INDEX, config.key];\n",
};

/** Wrong-way imports, each with the rule that must name it (the rule, the importing file, the imported one). */
const WRONG_WAY: { file: string; source: string; rule: string; from: string; to: string }[] = [
  { file: 'src/domain/bad.ts', source: "import { store } from '../adapters/store-impl';\nexport const x = store;\n", rule: 'domain-imports-only-domain-and-contract', from: 'src/domain/bad.ts', to: 'src/adapters/store-impl.ts' },
  { file: 'src/domain/bad-config.ts', source: "import type { Config } from '../config/config';\nexport type X = Config;\n", rule: 'domain-imports-only-domain-and-contract', from: 'src/domain/bad-config.ts', to: 'src/config/config.ts' },
  { file: 'src/services/bad.ts', source: "import { store } from '../adapters/store-impl';\nexport const x = store;\n", rule: 'services-never-import-adapters-http-or-entries', from: 'src/services/bad.ts', to: 'src/adapters/store-impl.ts' },
  { file: 'src/services/bad-config.ts', source: "import { loadConfig } from '../config/config';\nexport const x = loadConfig;\n", rule: 'services-read-config-types-only', from: 'src/services/bad-config.ts', to: 'src/config/config.ts' },
  { file: 'src/adapters/bad.ts', source: "import { service } from '../services/service';\nexport const x = service;\n", rule: 'adapters-never-import-services-http-or-entries', from: 'src/adapters/bad.ts', to: 'src/services/service.ts' },
  { file: 'src/http/bad.ts', source: "import { service } from '../services/service';\nexport const x = service;\n", rule: 'http-core-never-imports-services', from: 'src/http/bad.ts', to: 'src/services/service.ts' },
  { file: 'src/contract/bad.ts', source: "import { randomUUID } from 'node:crypto';\nexport const x = randomUUID;\n", rule: 'contract-imports-nothing', from: 'src/contract/bad.ts', to: 'crypto' },
  { file: 'src/client/bad.ts', source: "import { rule } from '../domain/rule';\nexport const x = rule;\n", rule: 'client-imports-itself-and-the-contract', from: 'src/client/bad.ts', to: 'src/domain/rule.ts' },
  { file: 'src/verifier/bad.ts', source: "import { rule } from '../domain/rule';\nexport const x = rule;\n", rule: 'verifier-stays-runtime-neutral', from: 'src/verifier/bad.ts', to: 'crypto' },
  { file: 'src/lambda/bad.ts', source: "import { serve } from '../local/main';\nexport const x = serve;\n", rule: 'production-code-never-reaches-local', from: 'src/lambda/bad.ts', to: 'src/local/main.ts' },
  { file: 'src/handlers/bad.ts', source: "import { compose } from '../app/compose';\nexport const x = compose;\n", rule: 'handlers-see-the-composition-as-types-only', from: 'src/handlers/bad.ts', to: 'src/app/compose.ts' },
  { file: 'src/adapters/bad-cdk.ts', source: "import { stack } from '../../cdk/stack';\nexport const x = stack;\n", rule: 'src-never-imports-cdk', from: 'src/adapters/bad-cdk.ts', to: 'cdk/stack.ts' },
  { file: 'cdk/bad.ts', source: "import { store } from '../src/adapters/store-impl';\nexport const x = store;\n", rule: 'cdk-imports-contract-and-public-entries', from: 'cdk/bad.ts', to: 'src/adapters/store-impl.ts' },
  { file: 'src/newfolder/x.ts', source: "import { TABLE_INDEX } from '../contract/names';\nexport const x = TABLE_INDEX;\n", rule: 'src-folder-has-a-layer', from: 'src/newfolder/x.ts', to: 'src/contract/names.ts' },
];

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
}

function cruise(dir: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [cruiser, 'src', 'cdk', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the import rules (.dependency-cruiser.cjs)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-import-rules-'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'preserve', moduleResolution: 'bundler', strict: true } }));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
    writeTree(dir, CLEAN);
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('pass a tree whose every layer imports the right way', () => {
    const { status, output } = cruise(dir);

    expect(output).not.toMatch(/error /);
    expect(status).toBe(0);
  });

  it('fail on each wrong-way import and name its rule, its file and what it imported', () => {
    writeTree(dir, Object.fromEntries(WRONG_WAY.map(({ file, source }) => [file, source])));

    const { status, output } = cruise(dir);

    expect(status).not.toBe(0);
    const missed = WRONG_WAY.filter(({ rule, from, to }) => !output.includes(`error ${rule}: ${from} → ${to}`));
    expect(missed).toEqual([]);
  });
});
