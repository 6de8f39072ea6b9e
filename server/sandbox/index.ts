// The sandbox engine's front door: builds the configured driver behind the manager.
import type { Config } from '../config.js';
import { SandboxError, type SandboxDriver } from './driver.js';
import { SandboxManager } from './manager.js';
import { NamespacesDriver } from './namespaces/driver.js';
import { checkHost } from './namespaces/preflight.js';
import { ensureRootfs, type RootfsProgress } from './rootfs.js';

export interface EngineHooks {
  onRootfsProgress?: (progress: RootfsProgress) => void;
  onEnded?: (id: string, reason: 'idle' | 'gone') => void;
}

/** Prepares what the configured driver needs (building the rootfs on first use) and starts the manager. */
export async function startSandboxEngine(config: Config, hooks: EngineHooks = {}): Promise<SandboxManager> {
  let manager: SandboxManager | undefined;
  let driver: SandboxDriver;
  if (config.driver === 'namespaces') {
    checkHost(); // before a long rootfs build that would fail for the same reason
    const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror, ...(hooks.onRootfsProgress ? { onProgress: hooks.onRootfsProgress } : {}) });
    driver = new NamespacesDriver({
      dataDir: config.dataDir,
      instance: config.instance,
      limits: config.limits,
      rootfs,
      onGone: (id) => manager?.gone(id),
    });
  } else {
    throw new SandboxError('the docker driver is not available yet; use --driver namespaces', 'unsupported');
  }
  manager = new SandboxManager(driver, {
    maxSandboxes: config.maxSandboxes,
    idleTimeoutMs: config.idleTimeoutMs,
    ...(hooks.onEnded ? { onEnded: hooks.onEnded } : {}),
  });
  await manager.start();
  return manager;
}

export { SandboxManager } from './manager.js';
export * from './driver.js';
