// Sandbox create and destroy latency, namespaces driver against `docker run`
// of an image made from the same rootfs (when a Docker engine answers).
import { execFileSync, spawnSync } from 'node:child_process';
import { loadConfig } from '../server/config.js';
import { NamespacesDriver } from '../server/sandbox/namespaces/driver.js';
import { ensureRootfs } from '../server/sandbox/rootfs.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';

const COUNT = 50;

export async function benchSandboxes(): Promise<BenchResult[]> {
  const config = loadConfig({ instance: 'bench-sandbox' });
  const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror });
  const driver = new NamespacesDriver({ dataDir: config.dataDir, instance: 'bench-sandbox', limits: config.limits, rootfs });
  await driver.init();
  const create: number[] = [];
  const destroy: number[] = [];
  try {
    // one warm-up: the first sandbox pays for page-cache misses on the rootfs
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
  const results: BenchResult[] = [
    { name: 'sandbox create p50 (namespaces)', value: round(percentile(create, 50)), unit: 'ms', target: '' },
    { name: 'sandbox create p95 (namespaces)', value: round(percentile(create, 95)), unit: 'ms', target: '<= 100' },
    { name: 'sandbox destroy p50 (namespaces)', value: round(percentile(destroy, 50)), unit: 'ms', target: '' },
    { name: 'sandbox destroy p95 (namespaces)', value: round(percentile(destroy, 95)), unit: 'ms', target: '' },
  ];
  results.push(...benchDockerRun(rootfs));
  return results;
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
