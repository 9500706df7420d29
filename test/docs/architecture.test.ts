import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');
const doc = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');

/** Repository paths the document names: `src/…`, `cdk/…` and the like, in prose, tables and diagrams. */
function namedPaths(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(/(?<![\w./-])((?:src|cdk|bin|test|bench|scripts|docs)\/(?:[\w./*-]*[\w/*])?)/g)) {
    const path = match[1]!;
    if (!path.includes('*')) found.add(path.replace(/\/$/, ''));
  }
  return [...found].sort();
}

/** The placement table: `| \`src/<folder>/\` | <layer> | … |` rows. */
function placements(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const match of text.matchAll(/^\| `(src\/[\w/-]+)\/` \| ([\w-]+) \|/gm)) rows.set(match[1]!, match[2]!);
  return rows;
}

/** The mermaid block that draws the layers (the first one, a flowchart). */
function componentDiagram(text: string): string {
  const block = text.match(/```mermaid\n(flowchart[\s\S]*?)```/);
  if (!block) throw new Error('docs/architecture.md has no mermaid flowchart');
  return block[1]!;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(root, path).split('\\').join('/')];
  });
}

/** The most specific placed folder holding `file`, if any. */
function placedFolder(file: string, folders: readonly string[]): string | undefined {
  return folders.filter((folder) => file.startsWith(`${folder}/`)).sort((a, b) => b.length - a.length)[0];
}

describe('docs/architecture.md', () => {
  it('names only files and folders that exist', () => {
    const named = namedPaths(doc);

    const missing = named.filter((path) => !existsSync(join(root, path)));

    expect(named.length).toBeGreaterThan(40);
    expect(missing).toEqual([]);
  });

  it('places every file of src/ in a layer, by its folder', () => {
    const folders = [...placements(doc).keys()];

    const unplaced = filesUnder(join(root, 'src')).filter((file) => !placedFolder(file, folders));

    expect(unplaced).toEqual([]);
  });

  it('draws every placed folder in the component diagram', () => {
    const diagram = componentDiagram(doc);

    const undrawn = [...placements(doc).keys()].filter((folder) => !diagram.includes(folder));

    expect(undrawn).toEqual([]);
  });

  it('gives every placed folder a layer the import rules know', () => {
    const layers = new Set(placements(doc).values());
    // The layers of .dependency-cruiser.cjs's header, where each rule's folders are listed.
    const rules = readFileSync(join(root, '.dependency-cruiser.cjs'), 'utf8');
    const ruleLayers = new Set([...rules.matchAll(/^ \*   (\w+)\s{2,}src\//gm)].map((match) => match[1]!));

    const unknown = [...layers].filter((layer) => !ruleLayers.has(layer === 'library' ? 'libraries' : layer));

    expect(unknown).toEqual([]);
  });

  it('leaves no top-level folder of src/ to the import rules unplaced', () => {
    const rules = readFileSync(join(root, '.dependency-cruiser.cjs'), 'utf8');
    const placed = rules.match(/const PLACED = '([^']+)'/)?.[1]?.split('|') ?? [];
    const topLevel = readdirSync(join(root, 'src')).filter((name) => statSync(join(root, 'src', name)).isDirectory());

    const unruled = topLevel.filter((name) => !placed.includes(name));
    const undocumented = topLevel.filter((name) => !placements(doc).has(`src/${name}`));

    expect(unruled).toEqual([]);
    expect(undocumented).toEqual([]);
  });

  it('keeps out of its diagrams the two characters that end a Mermaid statement early (; and #)', () => {
    const blocks = [...doc.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((match) => match[1]!);

    const broken = blocks.flatMap((block) => block.split('\n').filter((line) => /[;#]/.test(line)));

    expect(blocks.length).toBe(7);
    expect(broken).toEqual([]);
  });

  it('has a sequence diagram for each flow a user or operator follows, each naming the files that carry it', () => {
    const flows = ['CI exchange', 'Clerk user exchange', 'Refresh with rotation and reuse detection', 'Proxied request', 'Clerk webhook', 'Signing-key rotation'];

    for (const flow of flows) {
      const section = doc.split(/^### /m).find((part) => part.startsWith(flow));
      expect({ flow, diagram: section?.includes('```mermaid\nsequenceDiagram') }).toEqual({ flow, diagram: true });
      expect({ flow, files: namedPaths(section ?? '').filter((path) => path.startsWith('src/')).length >= 5 }).toEqual({ flow, files: true });
    }
  });
});

describe('the placement rules of the test above', () => {
  it('find the most specific folder, so src/cli/admin is not placed as src/cli', () => {
    expect(placedFolder('src/cli/admin/admin-cli.ts', ['src/cli', 'src/cli/admin'])).toBe('src/cli/admin');
    expect(placedFolder('src/cli/run-cli.ts', ['src/cli', 'src/cli/admin'])).toBe('src/cli');
    expect(placedFolder('src/clients/x.ts', ['src/cli'])).toBeUndefined();
  });

  it('read paths out of prose, tables and diagrams', () => {
    expect(namedPaths('see `src/http/errors.ts`, participant H as src/handlers/token-handler.ts and src/lambda/*.ts (cdk/).')).toEqual([
      'cdk',
      'src/handlers/token-handler.ts',
      'src/http/errors.ts',
    ]);
  });
});
