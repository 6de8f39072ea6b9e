// Where boxlab's own files are, whether it runs from TypeScript sources (tests,
// tsx) or from the compiled dist/ tree.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'boxlab') return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the boxlab package root');
    dir = parent;
  }
}

/** The repository (package) root. */
export const PACKAGE_ROOT = findPackageRoot();
/** Build output: compiled server, native helper, bundled web assets. */
export const DIST_DIR = path.join(PACKAGE_ROOT, 'dist');
