// The sandbox image of the docker driver: the same Debian tree as the
// namespaces driver's rootfs (rootfs/packages.txt and rootfs/setup.sh),
// imported into the engine under a tag that names that content, so a changed
// package list asks for a new image. The Dockerfile's `sandbox` target builds
// the same tree.
import { spawn } from 'node:child_process';
import type Docker from 'dockerode';
import { SandboxError } from '../driver.js';
import { rootfsKey } from '../rootfs.js';

export const SANDBOX_REPO = 'boxlab-sandbox';

/** The image the docker driver uses unless told otherwise. */
export function defaultSandboxImage(suite: string): string {
  return `${SANDBOX_REPO}:${rootfsKey(suite)}`;
}

export async function hasImage(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

export function missingImageError(name: string, defaultName: string): SandboxError {
  const how =
    name === defaultName
      ? `build it with "boxlab sandbox-image" (imports the sandbox rootfs, building it first if needed), or with "docker build --target sandbox -t ${name} ." in the boxlab source`
      : `build it with "docker build --target sandbox -t ${name} ." in the boxlab source, or use the default image (built by "boxlab sandbox-image")`;
  return new SandboxError(`the sandbox image ${name} is missing from the Docker engine: ${how}`, 'unsupported');
}

/** Imports the rootfs directory `dir` into the engine as image `name` (repo:tag). */
export async function importSandboxImage(docker: Docker, dir: string, name: string): Promise<void> {
  const colon = name.lastIndexOf(':');
  const [repo, tag] = colon > name.lastIndexOf('/') ? [name.slice(0, colon), name.slice(colon + 1)] : [name, 'latest'];
  const tar = spawn('tar', ['-C', dir, '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let tarError = '';
  tar.stderr.on('data', (chunk: Buffer) => (tarError += chunk.toString()));
  const tarDone = new Promise<number>((resolve) => tar.on('close', (code) => resolve(code ?? 1)));
  const progress = (await docker.importImage(tar.stdout, { repo, tag })) as NodeJS.ReadableStream;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(progress, (err: Error | null, events: Array<{ error?: string }>) => {
      const failed = err?.message ?? events.find((e) => e.error)?.error;
      if (failed) reject(new SandboxError(`importing the sandbox image failed: ${failed}`));
      else resolve();
    });
  });
  if ((await tarDone) !== 0) throw new SandboxError(`reading the sandbox rootfs at ${dir} failed: ${tarError.trim()}`);
}
