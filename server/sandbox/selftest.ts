// `boxlab selftest`: proves the configured driver works on this host, end to
// end, without starting the server: a sandbox is created, does what lessons
// do, and is destroyed. Runs under an instance name of its own, so a running
// server's sandboxes are left alone.
import { SandboxError } from './driver.js';
import { startSandboxEngine, type EngineConfig } from './index.js';
import type { RootfsProgress } from './rootfs.js';

const CHECKS = `
hostname
unshare --net --mount --pid --fork true && echo namespaces ok
mount -t tmpfs selftest /mnt && umount /mnt && echo mounts ok
ip link add selftest0 type veth peer name selftest1 && ip link del selftest0 && echo network ok
test -w /sys/fs/cgroup/cgroup.procs -o -w /sys/fs/cgroup/memory/cgroup.procs && echo cgroups ok`;

export async function selftest(config: EngineConfig, print: (line: string) => void, onRootfsProgress?: (p: RootfsProgress) => void): Promise<void> {
  const instance = `${config.instance.slice(0, 22)}-selftest`;
  let started = performance.now();
  const ms = () => `${Math.round(performance.now() - started)} ms`;
  const manager = await startSandboxEngine({ ...config, instance, idleTimeoutMs: 0 }, onRootfsProgress ? { onRootfsProgress } : {});
  try {
    print(`driver ${config.driver} ready (${ms()})`);
    started = performance.now();
    const box = await manager.create();
    print(`sandbox ${box.id} created (${ms()})`);
    started = performance.now();
    const r = await manager.exec(box.id, ['bash', '-c', CHECKS], { timeoutMs: 20_000 });
    for (const line of r.stdout.trim().split('\n')) print(`  ${line}`);
    const expected = ['namespaces ok', 'mounts ok', 'network ok', 'cgroups ok'];
    const missing = expected.filter((line) => !r.stdout.includes(line));
    if (r.exitCode !== 0 || missing.length) {
      throw new SandboxError(`the sandbox cannot do what lessons need (${missing.join(', ') || `exit ${r.exitCode}`}): ${r.stderr.trim()}`);
    }
    print(`commands ran (${ms()})`);
    started = performance.now();
    await manager.destroy(box.id);
    print(`sandbox destroyed (${ms()})`);
    print('selftest passed');
  } finally {
    await manager.close();
  }
}
