// A Docker-lesson sandbox: from its creation to a working `docker run` (the
// engine started as a lesson's setup starts it, the base images imported),
// and what the sandbox's memory holds once the engine idles, beside a bare one.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../server/config.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { NamespacesDriver } from '../server/sandbox/namespaces/driver.js';
import { ensureRootfs } from '../server/sandbox/rootfs.js';
import type { BenchResult } from './result.js';
import { median, percentile, round } from './stats.js';

const COUNT = 10;
const LIB = readFileSync(path.join(PACKAGE_ROOT, 'labs', '_lib', 'check.sh'), 'utf8');
// the sandbox's own memory cgroup: its usage, page cache and tmpfs included (v1 or v2)
const MEMORY = 'cat /sys/fs/cgroup/memory/memory.usage_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.current';

export async function benchEngine(): Promise<BenchResult[]> {
  const config = loadConfig({ instance: 'bench-engine' });
  const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror });
  const driver = new NamespacesDriver({ dataDir: config.dataDir, instance: 'bench-engine', limits: config.limits, rootfs });
  await driver.init();
  const ready: number[] = [];
  const engine: number[] = [];
  const idle: number[] = [];
  const bare: number[] = [];
  const mib = (out: string) => Number(out.trim()) / 1024 ** 2;
  try {
    for (let i = 0; i <= COUNT; i++) {
      const t = performance.now();
      const box = await driver.create();
      try {
        const up = await driver.exec(box.id, ['bash', '-c', `${LIB}\ndocker_up && boxlab-images >/dev/null`], { timeoutMs: 60_000 });
        if (up.exitCode !== 0) throw new Error(`the engine did not start: ${up.stdout}${up.stderr}`);
        const tEngine = performance.now();
        const run = await driver.exec(box.id, ['docker', 'run', '--rm', 'busybox', 'true'], { timeoutMs: 60_000 });
        if (run.exitCode !== 0) throw new Error(`docker run failed: ${run.stderr}`);
        // the first round pays for page-cache misses on the rootfs's engine binaries
        if (i > 0) ready.push(performance.now() - t), engine.push(tEngine - t);
        if (i > 0 && i <= 3) {
          await new Promise((r) => setTimeout(r, 3000));
          idle.push(mib((await driver.exec(box.id, ['sh', '-c', MEMORY])).stdout));
        }
      } finally {
        await driver.destroy(box.id);
      }
    }
    for (let i = 0; i < 3; i++) {
      const box = await driver.create();
      await new Promise((r) => setTimeout(r, 3000));
      bare.push(mib((await driver.exec(box.id, ['sh', '-c', MEMORY])).stdout));
      await driver.destroy(box.id);
    }
  } finally {
    await driver.close();
  }
  return [
    { name: 'docker sandbox to engine answering p50', value: round(percentile(engine, 50)), unit: 'ms', target: '' },
    { name: 'docker sandbox to first docker run p50', value: round(percentile(ready, 50)), unit: 'ms', target: '' },
    { name: 'docker sandbox to first docker run p95', value: round(percentile(ready, 95)), unit: 'ms', target: '' },
    { name: 'docker sandbox memory, dockerd idle', value: round(median(idle), 1), unit: 'MiB', target: '' },
    { name: 'sandbox memory, bare', value: round(median(bare), 1), unit: 'MiB', target: '' },
  ];
}
