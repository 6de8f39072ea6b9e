// The read-only volumes every sandbox container mounts:
// - the sandbox image's tree, copied once, the lower layer of the sandbox's
//   root (through an idmapped mount). An overlay on the container's own root
//   would be the second level of overlays, and the kernel allows only two: the
//   learner could not stack one of their own, as lessons about image layers do;
// - the native helper, the container's PID 1 and the way into the sandbox,
//   the same static binary the namespaces driver runs.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { SandboxError } from '../driver.js';

/** Where the populating container mounts the volume, and the tree in it. */
const ROOTFS_MOUNT = '/.boxlab';
export const ROOTFS_LABEL = 'boxlab.rootfs-of';
export const HELPER_LABEL = 'boxlab.helper';

// Copies the container's root (the image) into the volume once, under a lock:
// several servers may start at once. Docker's own files (/etc/hosts...) are
// other mounts, left out by --one-file-system.
const POPULATE = `set -eu
cd ${ROOTFS_MOUNT}
exec 9> .lock
flock 9
[ ! -e .complete ] || exit 0
rm -rf rootfs && mkdir rootfs
tar -C / --one-file-system --numeric-owner --exclude=.${ROOTFS_MOUNT} -cf - . | tar -C rootfs --numeric-owner -xpf -
touch .complete`;

/** Makes sure the volume holding `image`'s tree exists and is complete; returns its name. */
export async function ensureRootfsVolume(docker: Docker, image: string, instance: string): Promise<string> {
  const imageId = (await docker.getImage(image).inspect()).Id;
  const name = `boxlab-rootfs-${imageId.replace(/^sha256:/, '').slice(0, 16)}`;
  await docker.createVolume({ Name: name, Labels: { [ROOTFS_LABEL]: imageId } });
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['sh', '-c', POPULATE],
    Cmd: [],
    Labels: { 'boxlab.instance': instance },
    HostConfig: {
      NetworkMode: 'none',
      LogConfig: { Type: 'json-file', Config: {} },
      Mounts: [{ Type: 'volume', Source: name, Target: ROOTFS_MOUNT }],
    },
  });
  try {
    await container.start();
    const { StatusCode } = (await container.wait()) as { StatusCode: number };
    if (StatusCode !== 0) {
      const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
      throw new SandboxError(`copying the sandbox image into volume ${name} failed: ${logs.trim().slice(-500)}`);
    }
  } finally {
    // a copier left behind is labelled with the instance: the driver's init() removes it at the next start
    await container.remove({ force: true }).catch(() => {});
  }
  // volumes of images since replaced; Docker refuses to remove one still in use
  const { Volumes } = await docker.listVolumes({ filters: { label: [ROOTFS_LABEL] } });
  for (const volume of Volumes ?? []) {
    if (volume.Name !== name && volume.Labels?.[ROOTFS_LABEL] !== imageId) {
      const inUse = await docker.getImage(volume.Labels?.[ROOTFS_LABEL] ?? '').inspect().then(() => true, () => false);
      if (!inUse) await docker.getVolume(volume.Name).remove().catch(() => {}); // in use by a sandbox: tried again next start
    }
  }
  return name;
}

/** Makes sure a volume holding `helper` (as boxlab-sandbox) exists; returns its name. */
export async function ensureHelperVolume(docker: Docker, image: string, instance: string, helper: string): Promise<string> {
  const digest = createHash('sha256').update(readFileSync(helper)).digest('hex').slice(0, 16);
  const name = `boxlab-helper-${digest}`;
  // named by its content: once there, it is the right one
  if (await docker.getVolume(name).inspect().then(() => true, () => false)) return name;
  await docker.createVolume({ Name: name, Labels: { [HELPER_LABEL]: digest } });
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['true'],
    Cmd: [],
    Labels: { 'boxlab.instance': instance },
    HostConfig: { NetworkMode: 'none', Mounts: [{ Type: 'volume', Source: name, Target: '/helper' }] },
  });
  try {
    const tar = spawn('tar', ['-C', path.dirname(helper), '--owner=0', '--group=0', '-c', path.basename(helper)], { stdio: ['ignore', 'pipe', 'ignore'] });
    await container.putArchive(tar.stdout, { path: '/helper' });
  } catch (err) {
    await docker.getVolume(name).remove().catch(() => {}); // the copy's failure is what matters; a half-filled volume is named by the digest and refilled
    throw new SandboxError(`copying the sandbox helper into volume ${name} failed: ${(err as Error).message}`);
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
  return name;
}
