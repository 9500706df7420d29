/**
 * Tollgate's import rules (issue 12; docs/architecture.md draws them).
 *
 * Every folder of src/ sits in one layer, and the rules are written about
 * folders, so a new file is covered by the folder it lands in and a new
 * folder of src/ fails `src-folder-has-a-layer` until it is given a layer here
 * and in docs/architecture.md:
 *
 *   contract       src/contract                       names that cross a boundary; imports nothing
 *   domain         src/domain                         pure logic and the types it owns
 *   ports          src/ports                          interfaces the services need
 *   services       src/services                       the logic; sees ports, never adapters
 *   adapters       src/adapters, src/observability    implement ports (DynamoDB, Secrets Manager, JWKS, upstream, Powertools)
 *   config         src/config                         the config document's schema and loader
 *   http           src/http, src/handlers             parsing, RFC-shaped responses, the middy chain, the handlers
 *   entry          src/app, src/lambda, src/cli/admin composition, the Lambda entry modules, the operator commands
 *   local          src/local, src/types               the local runtime (npm start), never reached by production code
 *   libraries      src/client, src/verifier, src/authorizer, src/cli, src/action
 *                                                     ship on their own (see each folder's README.md)
 *
 * Type-only imports are real edges here (swc reports them, marked
 * `type-only`): a type import still couples the layers; where one is allowed
 * the rule says so.
 */

/** Every folder of src/ that has a layer. */
const PLACED = 'contract|domain|ports|services|adapters|observability|config|http|handlers|app|lambda|local|types|client|verifier|authorizer|cli|action';

/** Packages whose work is I/O, a runtime or a framework: never in the pure layers. */
const IO_PACKAGES = '@aws-sdk|@smithy|@aws-lambda-powertools|@middy|zod|aws-cdk-lib|constructs|dynalite|esbuild';

/** Node's own modules as dependency-cruiser names them (`node:crypto` resolves to `crypto`). */
const NODE_MODULES_OF_NODE =
  '^(node:)?(assert|async_hooks|buffer|child_process|cluster|crypto|dgram|dns|events|fs|fs/promises|http|http2|https|net|os|path|perf_hooks|process|readline|stream|string_decoder|timers|tls|url|util|v8|vm|worker_threads|zlib)$';

module.exports = {
  forbidden: [
    {
      name: 'src-folder-has-a-layer',
      comment: 'A folder of src/ that no layer names: give it one here and in docs/architecture.md.',
      severity: 'error',
      from: { path: `^src/(?!(${PLACED})/)[^/]+/` },
      to: {},
    },
    {
      name: 'contract-imports-nothing',
      comment: 'src/contract is read by cdk/, src/ and the client: no dependencies at all, not even a package.',
      severity: 'error',
      from: { path: '^src/contract/' },
      to: { pathNot: '^src/contract/' },
    },
    {
      name: 'domain-imports-only-domain-and-contract',
      comment: 'The domain is pure: it imports itself and the contract (config, ports, adapters, http and handlers depend on it, not the reverse).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { path: '^(src|cdk|bin)/', pathNot: '^src/(domain|contract)/' },
    },
    {
      name: 'domain-uses-no-io-package',
      comment: 'The domain may use jose (token checks) and node:crypto (hashes, HMACs); no SDK, framework or other runtime module.',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: {
        dependencyTypes: ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'core'],
        pathNot: ['node_modules/jose/', '^(node:)?crypto$'],
      },
    },
    {
      name: 'ports-are-interfaces',
      comment: 'A port names what a service needs in domain terms: it imports the domain and the contract only.',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { path: '^(src|cdk|bin)/', pathNot: '^src/(ports|domain|contract)/' },
    },
    {
      name: 'ports-use-no-io-package',
      comment: 'A port is an interface: no SDK or framework types leak through it (jose key types are fine).',
      severity: 'error',
      from: { path: '^src/ports/' },
      to: { path: `node_modules/(${IO_PACKAGES})` },
    },
    {
      name: 'services-never-import-adapters-http-or-entries',
      comment: 'Services see ports only: never adapters, observability, http, handlers, the composition, entry modules or local-only code.',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: '^(src/(adapters|observability|http|handlers|app|lambda|local|types|client|cli|action|authorizer)|cdk|bin)/' },
    },
    {
      name: 'services-read-config-types-only',
      comment: 'Services get their settings as typed values: a type import of src/config is fine, loading the schema (zod) is not.',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: '^src/config/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'services-use-no-io-package',
      comment: 'I/O belongs to adapters behind ports.',
      severity: 'error',
      from: { path: '^src/services/' },
      to: { path: `node_modules/(${IO_PACKAGES})` },
    },
    {
      name: 'adapters-never-import-services-http-or-entries',
      comment: 'Adapters implement ports; they never reach up into services, http, handlers, the composition, entry modules or local-only code.',
      severity: 'error',
      from: { path: '^src/(adapters|observability)/' },
      to: { path: '^(src/(services|http|handlers|app|lambda|local|types|client|cli|authorizer)|cdk|bin)/' },
    },
    {
      name: 'config-imports-domain-and-contract',
      comment: 'The config schema builds on the types the domain owns, never the reverse, and on nothing else of src/.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^(src|cdk|bin)/', pathNot: '^src/(config|domain|contract)/' },
    },
    {
      name: 'http-never-imports-adapters-or-entries',
      comment: 'The http layer (src/http, src/handlers) parses and shapes; it calls services and never an adapter, an entry module or local-only code.',
      severity: 'error',
      from: { path: '^src/(http|handlers)/' },
      to: { path: '^(src/(adapters|lambda|local|types|client|cli|authorizer)|cdk|bin)/' },
    },
    {
      name: 'http-core-never-imports-services',
      comment: 'src/http (events, forms, errors, the middy chain) is below the services; only handlers call services.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: '^src/(services|handlers|app|observability)/' },
    },
    {
      name: 'handlers-see-the-composition-as-types-only',
      comment: 'A handler takes the services its composition built (the type); it never runs the composition.',
      severity: 'error',
      from: { path: '^src/handlers/' },
      to: { path: '^src/app/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'production-code-never-reaches-local',
      comment: 'src/local is the local runtime (npm start); nothing in src/ outside it may import it, directly or through another module.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(local|types)/' },
      to: { path: '^src/(local|types)/', reachable: true },
    },
    {
      name: 'src-never-imports-cdk',
      comment: 'Nothing in src/ imports the CDK app or CDK itself.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: ['^(cdk|bin)/', 'node_modules/(aws-cdk-lib|constructs|aws-cdk|cdk-nag)/'] },
    },
    {
      name: 'cdk-imports-contract-and-public-entries',
      comment:
        'cdk/ imports the contract and public entry points only: the config document (src/config), the shipped libraries, ' +
        'and never adapters, handlers, services, ports or the composition.',
      severity: 'error',
      from: { path: '^(cdk|bin)/' },
      to: { path: '^src/', pathNot: '^src/(contract|config|client|verifier|authorizer)/' },
    },
    {
      name: 'client-imports-itself-and-the-contract',
      comment: 'The client (tollgate/client) runs in browsers and Node with only fetch: itself and the contract, no package.',
      severity: 'error',
      from: { path: '^src/client/' },
      to: { pathNot: '^src/(client|contract)/' },
    },
    {
      name: 'verifier-imports-itself-the-domain-and-the-contract',
      comment: 'tollgate/verify (fetch + WebCrypto + jose): itself, the runtime-neutral domain and the contract.',
      severity: 'error',
      from: { path: '^src/verifier/' },
      to: { pathNot: ['^src/(verifier|domain|contract)/', 'node_modules/jose/'] },
    },
    {
      name: 'verifier-stays-runtime-neutral',
      comment:
        'tollgate/verify runs in browsers, edge runtimes and Node: nothing it reaches (its domain files included) ' +
        'may load a Node module or a package other than jose.',
      severity: 'error',
      from: { path: '^src/verifier/' },
      to: { path: [NODE_MODULES_OF_NODE, 'node_modules/(?!jose/)'], reachable: true },
    },
    {
      name: 'authorizer-imports-the-verifier',
      comment: 'The Lambda authorizer is built on the verifier library only.',
      severity: 'error',
      from: { path: '^src/authorizer/' },
      to: { path: '^(src|cdk|bin)/', pathNot: '^src/(authorizer|verifier|contract)/' },
    },
    {
      name: 'cli-imports-the-client',
      comment:
        "The tollgate command's CI commands are built on the client library (and node:), nothing of the server; " +
        'the operator commands (src/cli/admin, an entry point loaded on demand) compose the server like the Lambda entries do.',
      severity: 'error',
      from: { path: '^src/cli/', pathNot: '^src/cli/admin/' },
      to: { path: '^(src|cdk|bin)/', pathNot: '^src/(cli|client|contract)/' },
    },
    {
      name: 'action-imports-the-cli-and-the-client',
      comment: 'The GitHub Action (src/action, bundled on its own) is built on the CLI\'s CI commands and the client only.',
      severity: 'error',
      from: { path: '^src/action/' },
      to: { path: '^(src|cdk|bin)/', pathNot: ['^src/(action|client|contract)/', '^src/cli/(?!admin/)'] },
    },
    {
      name: 'entries-never-reach-local',
      comment: 'Production entry points (Lambda entries, the composition, the operator commands) never reach the local runtime.',
      severity: 'error',
      from: { path: '^src/(lambda|app|cli/admin)/' },
      to: { path: '^src/(local|types)/', reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.d\\.ts$|^src/types/' },
    // TypeScript 7 has no compiler API for dependency-cruiser yet; swc (installed for jest) parses the
    // sources and reports type-only imports too, marked `type-only` (so `tsPreCompilationDeps`, which
    // asks for tsc, stays off).
    parser: 'swc',
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.cjs', '.mjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
