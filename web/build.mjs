#!/usr/bin/env node
// Bundles the browser page (web/) into dist/web: one script, one stylesheet,
// the HTML and its icon, all served by boxlab itself (nothing from a CDN).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(web, '..', 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: [
    { in: path.join(web, 'main.ts'), out: 'app' },
    { in: path.join(web, 'styles.css'), out: 'app' },
    // workshops: join page, instructor page, dashboard
    { in: path.join(web, 'workshops', 'join.ts'), out: 'join' },
    { in: path.join(web, 'workshops', 'instructor.ts'), out: 'instructor' },
    { in: path.join(web, 'workshops', 'dashboard.ts'), out: 'dashboard' },
    { in: path.join(web, 'workshops.css'), out: 'workshops' },
  ],
  outdir: out,
  bundle: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});
for (const file of ['index.html', 'favicon.svg', 'join.html', 'instructor.html', 'dashboard.html']) copyFileSync(path.join(web, file), path.join(out, file));
writeFileSync(path.join(out, '.built'), `${new Date().toISOString()}\n`);
