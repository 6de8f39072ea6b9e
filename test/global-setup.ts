// Runs once before the suite: the tests drive real sandboxes, so they need
// root, the built helper and the sandbox rootfs (built here on a new machine);
// and, when a Docker engine answers, the docker driver's sandbox image, so the
// sandbox suite runs against that driver too (BOXLAB_TEST_DOCKER=0 skips it).
import { execFileSync } from 'node:child_process';
import { connectEngine } from '../server/sandbox/docker/engine.js';
import { defaultSandboxImage, hasImage, importSandboxImage } from '../server/sandbox/docker/image.js';
import { ensureRootfs } from '../server/sandbox/rootfs.js';
import { DOCKER_SOCKET, TEST_DATA_DIR, TEST_SUITE } from './helpers/env.js';

export default async function setup(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the boxlab tests create real sandboxes: run them as root');
  execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  const rootfs = await ensureRootfs({ dataDir: TEST_DATA_DIR, suite: TEST_SUITE, onProgress: (p) => p.phase === 'done' && console.log(`rootfs: ${p.detail}`) });
  if (process.env.BOXLAB_TEST_DOCKER === '0') return;
  let docker;
  try {
    docker = await connectEngine(DOCKER_SOCKET);
  } catch (err) {
    console.log(`docker driver: not tested (${(err as Error).message})`);
    return;
  }
  const image = defaultSandboxImage(TEST_SUITE);
  if (!(await hasImage(docker, image))) {
    console.log(`docker driver: importing the sandbox image ${image}`);
    await importSandboxImage(docker, rootfs, image);
  }
  // test files run in child processes, which inherit this
  process.env.BOXLAB_TEST_DOCKER_IMAGE = image;
}
