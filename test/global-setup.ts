// Runs once before the suite: the tests drive real sandboxes, so they need
// root, the built helper and the sandbox rootfs (built here on a new machine).
import { execFileSync } from 'node:child_process';
import { ensureRootfs } from '../server/sandbox/rootfs.js';
import { TEST_DATA_DIR, TEST_SUITE } from './helpers/env.js';

export default async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the boxlab tests create real sandboxes: run them as root');
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  await ensureRootfs({ dataDir: TEST_DATA_DIR, suite: TEST_SUITE, onProgress: (p) => p.phase === 'done' && console.log(`rootfs: ${p.detail}`) });
}
