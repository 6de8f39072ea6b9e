// What only the docker driver does: the container it asks the engine for,
// noticing a container that went away, and errors that say what to do.
import { spawnSync } from 'node:child_process';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerDriver } from '../../server/sandbox/docker/driver.js';
import { CHECKS_HEADROOM } from '../../server/sandbox/cgroups.js';
import { GRANTED_CAPS, LABEL } from '../../server/sandbox/docker/spec.js';
import { SandboxError } from '../../server/sandbox/driver.js';
import { DEFAULT_LIMITS, DOCKER_TEST_IMAGE, makeDockerDriver, type TestDriver } from '../helpers/drivers.js';
import { DOCKER_SOCKET, testInstance } from '../helpers/env.js';

describe.skipIf(!DOCKER_TEST_IMAGE)('docker driver', () => {
  const docker = new Docker({ socketPath: DOCKER_SOCKET });
  let t: TestDriver;

  beforeAll(async () => {
    t = await makeDockerDriver('docker');
  });

  afterAll(async () => {
    await t.close();
    expect(await t.leftovers()).toEqual([]);
  });

  it('asks for a labelled container with only lo, no published port, the limits and the stated privileges', async () => {
    const box = await t.driver.create({ hostname: 'labelled' });
    const [summary] = await docker.listContainers({ filters: { label: [`${LABEL.sandbox}=${box.id}`] } });
    const c = await docker.getContainer(summary!.Id).inspect();
    expect(c.Config.Labels).toMatchObject({ [LABEL.instance]: t.instance, [LABEL.sandbox]: box.id, [LABEL.hostname]: 'labelled' });
    expect(c.Config.Hostname).toBe('labelled');
    expect(c.HostConfig).toMatchObject({
      NetworkMode: 'none',
      Privileged: false,
      // the learner's limits are one level below, inside: the container's leave their checks room
      Memory: DEFAULT_LIMITS.memoryBytes + CHECKS_HEADROOM.memoryBytes,
      MemorySwap: DEFAULT_LIMITS.memoryBytes + CHECKS_HEADROOM.memoryBytes,
      PidsLimit: DEFAULT_LIMITS.pids + CHECKS_HEADROOM.pids,
      NanoCpus: DEFAULT_LIMITS.cpus * 1e9,
      CapDrop: ['ALL'],
    });
    expect(Object.keys(c.NetworkSettings.Ports ?? {})).toEqual([]);
    expect(c.HostConfig.PortBindings ?? {}).toEqual({});
    const caps = c.HostConfig.CapAdd as string[];
    expect(caps.every((cap) => GRANTED_CAPS.includes(cap))).toBe(true);
    expect(caps).toContain('SYS_ADMIN');
    // inside, the learner's root is root of a user namespace of its own: SYS_ADMIN (bit 21) there, SYS_MODULE (16) and SYS_RAWIO (17) not
    const status = await t.driver.exec(box.id, ['sh', '-c', 'grep ^CapEff /proc/self/status; cat /proc/self/uid_map']);
    const eff = BigInt('0x' + status.stdout.split(/\s+/)[1]);
    expect([(eff >> 21n) & 1n, (eff >> 16n) & 1n, (eff >> 17n) & 1n]).toEqual([1n, 0n, 0n]);
    expect(status.stdout).toMatch(/^\s+0\s+0\s+65535$/m);
  });

  it('notices a sandbox whose container went away behind its back', async () => {
    const gone: string[] = [];
    const driver = new DockerDriver({ instance: testInstance('gone'), limits: DEFAULT_LIMITS, image: DOCKER_TEST_IMAGE, socketPath: DOCKER_SOCKET, onGone: (id) => gone.push(id) });
    await driver.init();
    try {
      const box = await driver.create();
      const [summary] = await docker.listContainers({ filters: { label: [`${LABEL.sandbox}=${box.id}`] } });
      await docker.getContainer(summary!.Id).remove({ force: true });
      await expect.poll(() => gone, { timeout: 5000 }).toEqual([box.id]);
      expect(driver.list()).toEqual([]);
      await expect(driver.exec(box.id, ['true'])).rejects.toThrow(/no sandbox/);
    } finally {
      await driver.close();
    }
  });

  it('says how to build a missing sandbox image', async () => {
    const driver = new DockerDriver({ instance: testInstance('noimage'), limits: DEFAULT_LIMITS, image: 'boxlab-sandbox:no-such-tag', defaultImage: 'boxlab-sandbox:no-such-tag', socketPath: DOCKER_SOCKET });
    const err = await driver.init().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxError);
    expect((err as Error).message).toMatch(/sandbox image boxlab-sandbox:no-such-tag is missing.*"boxlab sandbox-image".*docker build --target sandbox/);
  });
});

it('says when the Docker engine cannot be reached, and how to point at it', () => {
  const r = spawnSync(process.execPath, ['bin/boxlab.js', 'serve', '--driver', 'docker', '--docker-socket', '/nonexistent/docker.sock', '--port', '0'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^boxlab: cannot reach the Docker engine at \/nonexistent\/docker.sock: no socket there\. Start Docker .*--docker-socket \(BOXLAB_DOCKER_SOCKET\)/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
});
