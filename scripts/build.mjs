#!/usr/bin/env node
// Builds everything boxlab runs from: the server (TypeScript -> dist/server),
// the native sandbox helper (C -> dist/boxlab-sandbox) and the browser bundle
// (web/ -> dist/web). Each step is skipped when its output is newer than its inputs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
mkdirSync(dist, { recursive: true });

function newest(dir, filter) {
  let latest = 0;
  if (!existsSync(dir)) return 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(full, filter));
    else if (filter(full)) latest = Math.max(latest, statSync(full).mtimeMs);
  }
  return latest;
}
const mtime = (file) => (existsSync(file) ? statSync(file).mtimeMs : 0);
const step = (name, fn) => {
  const started = Date.now();
  fn();
  console.log(`build: ${name} (${Date.now() - started} ms)`);
};

// the native helper
const helperSrc = path.join(root, 'server/sandbox/native/boxlab-sandbox.c');
const helperOut = path.join(dist, 'boxlab-sandbox');
if (mtime(helperOut) < mtime(helperSrc)) {
  step('native helper', () => {
    const cc = process.env.CC || 'cc';
    try {
      execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Wno-missing-field-initializers', '-o', helperOut, helperSrc], { stdio: 'inherit' });
    } catch {
      console.error('build: compiling the sandbox helper failed; a C compiler and the Linux headers are needed (apt-get install gcc libc6-dev)');
      process.exit(1);
    }
  });
}

// the server
const tsOut = path.join(dist, 'server', 'cli.js');
const tsInputs = Math.max(newest(path.join(root, 'server'), (f) => f.endsWith('.ts')), mtime(path.join(root, 'tsconfig.json')));
if (mtime(tsOut) < tsInputs) {
  step('server', () => execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' }));
}

// the browser bundle
const webBuild = path.join(root, 'web', 'build.mjs');
if (existsSync(webBuild)) {
  const webOut = path.join(dist, 'web', '.built');
  // the page also bundles the wire protocol it shares with the server
  const webInputs = Math.max(newest(path.join(root, 'web'), () => true), mtime(path.join(root, 'server/terminal/protocol.ts')));
  if (mtime(webOut) < webInputs) {
    step('web', () => execFileSync(process.execPath, [webBuild], { stdio: 'inherit' }));
  }
}
