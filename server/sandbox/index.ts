// The sandbox engine's front door: builds the configured driver behind the manager.
import type { SandboxDriver, SandboxLimits } from './driver.js';
import { DockerDriver } from './docker/driver.js';
import { connectEngine } from './docker/engine.js';
import { defaultSandboxImage, hasImage, importSandboxImage } from './docker/image.js';
import { hostCapacity } from './capacity.js';
import { SandboxManager } from './manager.js';
import { NamespacesDriver } from './namespaces/driver.js';
import { checkHost } from './namespaces/preflight.js';
import { ensureRootfs, type RootfsProgress } from './rootfs.js';

/** What the engine reads of the server's configuration (server/config.ts gives it). */
export interface EngineConfig {
  driver: 'namespaces' | 'docker';
  dataDir: string;
  instance: string;
  limits: SandboxLimits;
  rootfs: { suite: string; mirror?: string; seed?: string };
  docker: { socket: string; image: string };
  /** 0: what the host's memory holds at the limits. */
  maxSandboxes: number;
  idleTimeoutMs: number;
}

export interface EngineHooks {
  onRootfsProgress?: (progress: RootfsProgress) => void;
  /** Hears what a listener of the manager's events threw. */
  onError?: (err: unknown) => void;
}

/** Prepares what the configured driver needs (building the rootfs on first use) and starts the manager. */
export async function startSandboxEngine(config: EngineConfig, hooks: EngineHooks = {}): Promise<SandboxManager> {
  let manager: SandboxManager | undefined;
  let driver: SandboxDriver;
  const onGone = (id: string, leftover?: Error) => manager?.gone(id, leftover);
  if (config.driver === 'namespaces') {
    checkHost(); // before a long rootfs build that would fail for the same reason
    const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror, seed: config.rootfs.seed, ...(hooks.onRootfsProgress ? { onProgress: hooks.onRootfsProgress } : {}) });
    driver = new NamespacesDriver({ dataDir: config.dataDir, instance: config.instance, limits: config.limits, rootfs, onGone });
  } else {
    const defaultImage = defaultSandboxImage(config.rootfs.suite);
    driver = new DockerDriver({
      instance: config.instance,
      limits: config.limits,
      image: config.docker.image || defaultImage,
      defaultImage,
      socketPath: config.docker.socket,
      onGone,
    });
  }
  manager = new SandboxManager(driver, {
    maxSandboxes: config.maxSandboxes || hostCapacity(config.limits).sandboxes,
    idleTimeoutMs: config.idleTimeoutMs,
    ...(hooks.onError ? { onError: hooks.onError } : {}),
  });
  await manager.start();
  return manager;
}

/** `boxlab sandbox-image`: makes sure the engine has the docker driver's image; returns its name. */
export async function ensureSandboxImage(config: EngineConfig, hooks: EngineHooks = {}): Promise<string> {
  const name = config.docker.image || defaultSandboxImage(config.rootfs.suite);
  const docker = await connectEngine(config.docker.socket);
  if (await hasImage(docker, name)) return name;
  const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror, seed: config.rootfs.seed, ...(hooks.onRootfsProgress ? { onProgress: hooks.onRootfsProgress } : {}) });
  await importSandboxImage(docker, rootfs, name);
  return name;
}

export { SandboxManager } from './manager.js';
export * from './driver.js';
