// Builds real sandbox drivers for tests, and tells what a sandbox left behind.
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { loadConfig } from '../../server/config.js';
import { detectCgroups } from '../../server/sandbox/cgroups.js';
import { DockerDriver } from '../../server/sandbox/docker/driver.js';
import { LABEL } from '../../server/sandbox/docker/spec.js';
import type { SandboxDriver, SandboxLimits } from '../../server/sandbox/driver.js';
import { NamespacesDriver } from '../../server/sandbox/namespaces/driver.js';
import { rootfsDir } from '../../server/sandbox/rootfs.js';
import { DOCKER_SOCKET, TEST_DATA_DIR, TEST_SUITE, testInstance } from './env.js';

export interface TestDriver {
  driver: SandboxDriver;
  instance: string;
  /** Sandboxes a crashed predecessor left, removed when the driver started. */
  sweptAtStart: string[];
  /** What of sandbox `id` (or of any sandbox of this driver) is still on the host. */
  leftovers(id?: string): Promise<string[]>;
  close(): Promise<void>;
}

export const DEFAULT_LIMITS: SandboxLimits = loadConfig({}, {}).limits;

export type DriverName = 'namespaces' | 'docker';

/** The sandbox image for docker-driver tests; global setup sets it when an engine answers. */
export const DOCKER_TEST_IMAGE = process.env.BOXLAB_TEST_DOCKER_IMAGE ?? '';

/** The drivers the sandbox suite runs against: docker too when an engine answers. */
export const DRIVERS: DriverName[] = DOCKER_TEST_IMAGE ? ['namespaces', 'docker'] : ['namespaces'];

/** Host processes whose cgroup path contains `marker`. */
export async function processesIn(marker: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cgroup = await fs.readFile(`/proc/${entry}/cgroup`, 'utf8').catch(() => '');
    if (cgroup.includes(marker)) {
      const cmd = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      found.push(`process ${entry} (${cmd.replace(/\0/g, ' ').trim()})`);
    }
  }
  return found;
}

export async function makeNamespacesDriver(label: string, limits: Partial<SandboxLimits> = {}, instance = testInstance(label)): Promise<TestDriver> {
  const driver = new NamespacesDriver({
    dataDir: TEST_DATA_DIR,
    instance,
    limits: { ...DEFAULT_LIMITS, ...limits },
    rootfs: rootfsDir(TEST_DATA_DIR, TEST_SUITE),
  });
  await driver.init();
  const stage = path.join(TEST_DATA_DIR, 'run', 'stage');
  return {
    driver,
    instance,
    sweptAtStart: driver.swept,
    async leftovers(id) {
      const found: string[] = [];
      for (const h of detectCgroups().hierarchies) {
        const dir = path.join(h.mountPoint, instance, id ?? '');
        if (id ? existsSync(dir) : (await fs.readdir(dir).catch(() => [])).some((e) => e.startsWith('sbx-'))) found.push(`cgroup ${dir}`);
      }
      found.push(...(await processesIn(`/${instance}/${id ? `${id}/` : ''}`)));
      for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
        if (line.includes(stage) || (id && line.includes(id))) found.push(`mount ${line}`);
      }
      return found;
    },
    async close() {
      await driver.close();
    },
  };
}

export async function makeDockerDriver(label: string, limits: Partial<SandboxLimits> = {}, instance = testInstance(label)): Promise<TestDriver> {
  if (!DOCKER_TEST_IMAGE) throw new Error('no Docker engine for the tests (see test/global-setup.ts)');
  const driver = new DockerDriver({ instance, limits: { ...DEFAULT_LIMITS, ...limits }, image: DOCKER_TEST_IMAGE, socketPath: DOCKER_SOCKET });
  await driver.init();
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  return {
    driver,
    instance,
    sweptAtStart: driver.swept,
    async leftovers(id) {
      const label = [`${LABEL.instance}=${instance}`, ...(id ? [`${LABEL.sandbox}=${id}`] : [])];
      const containers = await docker.listContainers({ all: true, filters: { label } });
      const networks = await docker.listNetworks({ filters: { label } });
      return [
        ...containers.map((c) => `container ${c.Names.join(',')} (${c.State})`),
        ...networks.map((n) => `network ${n.Name}`),
      ];
    },
    async close() {
      await driver.close();
    },
  };
}

export function makeDriver(name: DriverName, label: string, limits: Partial<SandboxLimits> = {}): Promise<TestDriver> {
  switch (name) {
    case 'namespaces':
      return makeNamespacesDriver(label, limits);
    case 'docker':
      return makeDockerDriver(label, limits);
  }
}
