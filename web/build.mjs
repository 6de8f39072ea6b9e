#!/usr/bin/env node
// Bundles the browser pages (web/) into dist/web: the catalogue, the lesson
// page and the free sandbox, one script each (shared code split into chunks,
// so the catalogue does not load the terminal), one stylesheet, the HTML and
// its icon, all served by boxlab itself (nothing from a CDN).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const web = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(web, '..', 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [
    { in: path.join(web, 'catalogue.ts'), out: 'catalogue' },
    { in: path.join(web, 'lesson.ts'), out: 'lesson' },
    { in: path.join(web, 'sandbox.ts'), out: 'sandbox' },
    { in: path.join(web, 'styles.css'), out: 'app' },
    // workshops: join page, instructor page, dashboard
    { in: path.join(web, 'workshops', 'join.ts'), out: 'join' },
    { in: path.join(web, 'workshops', 'instructor.ts'), out: 'instructor' },
    { in: path.join(web, 'workshops', 'dashboard.ts'), out: 'dashboard' },
    { in: path.join(web, 'workshops.css'), out: 'workshops' },
    // the learner's recorded sessions
    { in: path.join(web, 'history.ts'), out: 'history' },
    { in: path.join(web, 'history.css'), out: 'history' },
  ],
  outdir: out,
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const file of ['index.html', 'lesson.html', 'sandbox.html', 'favicon.svg', 'join.html', 'instructor.html', 'dashboard.html', 'history.html']) copyFileSync(path.join(web, file), path.join(out, file));
// gzipped once here, so the server sends scripts and styles compressed without compressing per request
for (const entry of readdirSync(out, { recursive: true, withFileTypes: true })) {
  if (entry.isFile() && /\.(js|css)$/.test(entry.name)) {
    const file = path.join(entry.parentPath, entry.name);
    writeFileSync(`${file}.gz`, gzipSync(readFileSync(file), { level: 9 }));
  }
}
writeFileSync(path.join(out, '.built'), `${new Date().toISOString()}\n`);
