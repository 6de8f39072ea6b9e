// Sandbox create and destroy latency: the namespaces driver, the docker driver
// and plain `docker run` of an image made from the same rootfs (the last two
// when a Docker engine answers).
import { execFileSync, spawnSync } from 'node:child_process';
import { loadConfig } from '../server/config.js';
import { DockerDriver } from '../server/sandbox/docker/driver.js';
import { connectEngine } from '../server/sandbox/docker/engine.js';
import { defaultSandboxImage, hasImage, importSandboxImage } from '../server/sandbox/docker/image.js';
import type { SandboxDriver } from '../server/sandbox/driver.js';
import { NamespacesDriver } from '../server/sandbox/namespaces/driver.js';
import { ensureRootfs } from '../server/sandbox/rootfs.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';

const COUNT = 50;

export async function benchSandboxes(): Promise<BenchResult[]> {
  const config = loadConfig({ instance: 'bench-sandbox' });
  const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror });
  const namespaces = await cycle(new NamespacesDriver({ dataDir: config.dataDir, instance: 'bench-sandbox', limits: config.limits, rootfs }));
  const results: BenchResult[] = [
    { name: 'sandbox create p50 (namespaces)', value: round(percentile(namespaces.create, 50)), unit: 'ms', target: '' },
    { name: 'sandbox create p95 (namespaces)', value: round(percentile(namespaces.create, 95)), unit: 'ms', target: '<= 100' },
    { name: 'sandbox destroy p50 (namespaces)', value: round(percentile(namespaces.destroy, 50)), unit: 'ms', target: '' },
    { name: 'sandbox destroy p95 (namespaces)', value: round(percentile(namespaces.destroy, 95)), unit: 'ms', target: '' },
  ];
  results.push(...(await benchDockerDriver(config, rootfs, percentile(namespaces.create, 50))));
  results.push(...benchDockerRun(rootfs));
  return results;
}

/** Creates and destroys COUNT sandboxes one after another, after one warm-up. */
async function cycle(driver: SandboxDriver): Promise<{ create: number[]; destroy: number[] }> {
  await driver.init();
  const create: number[] = [];
  const destroy: number[] = [];
  try {
    // the first sandbox pays for page-cache misses on the rootfs
    await driver.destroy((await driver.create()).id);
    for (let i = 0; i < COUNT; i++) {
      let t = performance.now();
      const box = await driver.create();
      create.push(performance.now() - t);
      t = performance.now();
      await driver.destroy(box.id);
      destroy.push(performance.now() - t);
    }
  } finally {
    await driver.close();
  }
  return { create, destroy };
}

/** The docker driver, with the sandbox image (imported from the rootfs when missing); nothing when no engine answers. */
async function benchDockerDriver(config: ReturnType<typeof loadConfig>, rootfs: string, namespacesP50: number): Promise<BenchResult[]> {
  let docker;
  try {
    docker = await connectEngine(config.docker.socket);
  } catch {
    console.error('bench: no Docker engine answers; skipping the docker driver');
    return [];
  }
  const image = config.docker.image || defaultSandboxImage(config.rootfs.suite);
  if (!(await hasImage(docker, image))) await importSandboxImage(docker, rootfs, image);
  const { create, destroy } = await cycle(new DockerDriver({ instance: 'bench-docker', limits: config.limits, image, socketPath: config.docker.socket }));
  return [
    { name: 'sandbox create p50 (docker driver)', value: round(percentile(create, 50)), unit: 'ms', target: '' },
    { name: 'sandbox create p95 (docker driver)', value: round(percentile(create, 95)), unit: 'ms', target: '<= 1000' },
    { name: 'sandbox destroy p50 (docker driver)', value: round(percentile(destroy, 50)), unit: 'ms', target: '' },
    { name: 'sandbox destroy p95 (docker driver)', value: round(percentile(destroy, 95)), unit: 'ms', target: '' },
    { name: 'sandbox create p50 ratio docker/namespaces', value: round(percentile(create, 50) / namespacesP50, 1), unit: 'x', target: '' },
  ];
}

/** `docker run` of the same rootfs, imported as an image; nothing when no engine answers. */
function benchDockerRun(rootfs: string): BenchResult[] {
  if (spawnSync('docker', ['info'], { stdio: 'ignore' }).status !== 0) {
    console.error('bench: no Docker engine answers; skipping the docker run comparison');
    return [];
  }
  const image = 'boxlab-bench/rootfs:latest';
  if (spawnSync('docker', ['image', 'inspect', image], { stdio: 'ignore' }).status !== 0) {
    execFileSync('sh', ['-c', `tar -C '${rootfs}' -c . | docker import - ${image}`], { stdio: 'ignore' });
  }
  const run = (args: string[]) => {
    const t = performance.now();
    const r = spawnSync('docker', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
    return { ms: performance.now() - t, out: r.stdout.trim() };
  };
  const create: number[] = [];
  const destroy: number[] = [];
  const cycle: number[] = [];
  run(['run', '--rm', '--network', 'none', image, 'true']); // warm-up
  for (let i = 0; i < COUNT; i++) {
    const started = run(['run', '-d', '--network', 'none', '--memory', '512m', '--pids-limit', '512', image, 'sleep', 'infinity']);
    create.push(started.ms);
    destroy.push(run(['rm', '-f', started.out]).ms);
    cycle.push(run(['run', '--rm', '--network', 'none', image, 'true']).ms);
  }
  return [
    { name: 'sandbox create p50 (docker run -d)', value: round(percentile(create, 50)), unit: 'ms', target: '' },
    { name: 'sandbox create p95 (docker run -d)', value: round(percentile(create, 95)), unit: 'ms', target: '' },
    { name: 'sandbox destroy p50 (docker rm -f)', value: round(percentile(destroy, 50)), unit: 'ms', target: '' },
    { name: 'sandbox destroy p95 (docker rm -f)', value: round(percentile(destroy, 95)), unit: 'ms', target: '' },
    { name: 'docker run --rm true p50', value: round(percentile(cycle, 50)), unit: 'ms', target: '' },
    { name: 'docker run --rm true p95', value: round(percentile(cycle, 95)), unit: 'ms', target: '' },
  ];
}
