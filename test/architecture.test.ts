// The dependency rules of docs/architecture.md, held by the build: every
// relative import of server/ and web/ is read (TypeScript's own pre-parser,
// type-only imports included) and checked against the layer it crosses into.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');

/** What each part may import besides itself; a part not listed here is a new part the rules must name. */
const MAY_IMPORT: Record<string, string[]> = {
  // dependency-free: the server and the browser share them
  contracts: [],
  'terminal/protocol': [],
  lifecycle: [],
  paths: [],
  log: [],
  config: ['paths'],
  // the engine knows Linux; its drivers sit behind driver.ts and know nothing of each other
  sandbox: ['lifecycle', 'paths', 'log'],
  'sandbox/namespaces': ['sandbox', 'lifecycle', 'paths', 'log'],
  'sandbox/docker': ['sandbox', 'lifecycle', 'paths', 'log'],
  labs: ['contracts', 'paths'],
  terminal: ['terminal/protocol', 'sandbox', 'lifecycle', 'log', 'paths'],
  checks: ['sandbox', 'labs/requirements', 'lifecycle', 'log'],
  store: ['checks', 'contracts'],
  events: ['contracts', 'lifecycle'],
  player: ['contracts', 'labs', 'checks', 'sandbox', 'terminal', 'store', 'events', 'lifecycle', 'log'],
  workshops: ['contracts', 'labs', 'store', 'events', 'lifecycle', 'log'],
  // recordings: a terminal's tap and the learner's timeline; knows no HTTP, no player, no workshop
  recording: ['contracts', 'terminal', 'store', 'events', 'lifecycle', 'log'],
  metrics: [],
  authoring: ['contracts', 'config', 'labs', 'checks', 'sandbox', 'paths', 'lifecycle', 'log', 'recording'],
  http: ['contracts', 'terminal/protocol', 'lifecycle', 'log', 'paths', 'labs', 'sandbox', 'terminal', 'checks', 'store', 'events', 'player', 'workshops', 'recording'],
  main: ['*'],
  cli: ['*'],
  web: ['contracts', 'terminal/protocol'],
};

/** Inside the engine, only its entry points choose a driver. */
const DRIVER_CHOOSERS = ['server/sandbox/index.ts', 'server/sandbox/selftest.ts'];

/** The part a source file belongs to. */
function partOf(file: string): string {
  const [top, sub, rest] = file.replace(/\.ts$/, '').split('/');
  if (top === 'web') return 'web';
  if (!rest) return sub!; // server/<name>.ts
  if (sub === 'terminal' && rest === 'protocol') return 'terminal/protocol';
  if (sub === 'labs' && rest === 'requirements') return 'labs/requirements';
  if (sub === 'sandbox' && (rest === 'namespaces' || rest === 'docker')) return `sandbox/${rest}`;
  return sub!;
}

const wide = (part: string) => part.split('/')[0]!;
const isDriver = (part: string) => part === 'sandbox/namespaces' || part === 'sandbox/docker';

function allowed(from: string, to: string): boolean {
  if (from === to) return true;
  // drivers are the engine's internals, reached from inside it only (and then by its entry points)
  if (isDriver(to)) return from === 'sandbox';
  const own = MAY_IMPORT[from];
  // a narrow part without a rule of its own (labs/requirements) is inside its wide one
  if (wide(from) === wide(to) && (!own || !MAY_IMPORT[to])) return true;
  const may = own ?? MAY_IMPORT[wide(from)] ?? [];
  return may.includes('*') || may.includes(to) || may.includes(wide(to));
}

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

function specifiers(file: string): string[] {
  return ts.preProcessFile(readFileSync(path.join(ROOT, file), 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

function importsOf(file: string): string[] {
  return specifiers(file)
    .filter((name) => name.startsWith('.'))
    .map((name) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), name)).replace(/\.js$/, '.ts'));
}

/** What the browser bundles from the server: no package, no Node module. */
const SHARED = ['contracts', 'terminal/protocol'];

const files = [...sources('server'), ...sources('web')];

it('keeps every import within the layers docs/architecture.md draws', () => {
  const violations: string[] = [];
  for (const file of files) {
    const from = partOf(file);
    if (!(from in MAY_IMPORT) && !(wide(from) in MAY_IMPORT)) violations.push(`${file}: part "${from}" has no rule`);
    if (SHARED.includes(from)) for (const name of specifiers(file).filter((n) => !n.startsWith('.'))) violations.push(`${file} imports ${name} (the browser shares it: no packages)`);
    for (const target of importsOf(file)) {
      const to = partOf(target);
      if (!allowed(from, to)) violations.push(`${file} imports ${target} (${from} may not import ${to})`);
      else if (from === 'sandbox' && to.startsWith('sandbox/') && !DRIVER_CHOOSERS.includes(file)) violations.push(`${file} imports ${target} (only ${DRIVER_CHOOSERS.join(' and ')} choose a driver)`);
    }
  }
  expect(violations).toEqual([]);
});

it('reads every import it should (the rule above cannot pass by reading nothing)', () => {
  expect(importsOf('server/main.ts')).toContain('server/sandbox/index.ts');
  expect(importsOf('web/terminal/link.ts')).toContain('server/terminal/protocol.ts');
  expect(allowed('workshops', 'http')).toBe(false);
  expect(allowed('web', 'player')).toBe(false);
  expect(allowed('sandbox/docker', 'sandbox/namespaces')).toBe(false);
  expect(allowed('checks', 'labs/requirements')).toBe(true);
  expect(allowed('checks', 'labs')).toBe(false);
  expect(allowed('labs/requirements', 'labs')).toBe(true);
  expect(allowed('labs', 'labs/requirements')).toBe(true);
  expect(allowed('terminal/protocol', 'terminal')).toBe(false);
  expect(allowed('http', 'sandbox/namespaces')).toBe(false);
});
