// What a learner can make the host spend: processes, memory, disk, and the
// kernel objects whose memory the sandbox's memory limit does not cover
// (cgroups, namespaces). Each attack runs through a real terminal of a real
// server, and the server and another learner keep answering meanwhile.
import { readFileSync, statfsSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KERNEL_OBJECT_LIMITS } from '../../server/sandbox/policy.js';
import { scaled, TEST_DATA_DIR } from '../helpers/env.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { attacker, type Shell } from './attacker.js';

let server: TestServer;
let bystander: Shell;
const shells: Shell[] = [];

beforeAll(async () => {
  // a writable layer and /tmp that fit in the memory limit together: a filler meets its quota, not the OOM killer
  server = await startTestServer('limits', { limits: { diskBytes: 128 * 1024 * 1024, tmpBytes: 64 * 1024 * 1024 } });
  bystander = await attacker(server);
});

// each test's sandboxes go with it: a small host (the test VM) holds few at once
afterEach(async () => {
  for (const s of shells.splice(0)) {
    s.close();
    await s.learner.fetch(`/api/sandboxes/${s.sandbox.id}`, { method: 'DELETE', headers: { origin: s.learner.origin } });
  }
});

afterAll(async () => {
  bystander?.close();
  await server?.close();
  expect(await server.leftovers()).toEqual([]);
});

async function learner(): Promise<Shell> {
  const shell = await attacker(server);
  shells.push(shell);
  return shell;
}

/** The server answers and another learner's shell runs a command, both promptly. */
async function othersUnharmed(): Promise<void> {
  const t0 = Date.now();
  expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  expect((await bystander.run('echo alive')).output).toBe('alive');
  expect(Date.now() - t0).toBeLessThan(scaled(3000));
}

const SUNRECLAIM = () => Number(/^SUnreclaim:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;

describe('kernel objects outside the memory limit', () => {
  it('stops a learner creating cgroups at the sandbox\'s bound, in number and in depth', async () => {
    const shell = await learner();
    const slab = SUNRECLAIM();
    const r = await shell.run(`
      if [ -e /sys/fs/cgroup/cgroup.controllers ]; then cg=/sys/fs/cgroup; else cg=/sys/fs/cgroup/memory; fi
      # v2 refuses the mkdir past the bound; v1 cannot, and the sandbox takes the cgroup away at once
      for i in $(seq 600); do mkdir $cg/c$i 2>/dev/null || break; done
      d=$cg/deep; for i in $(seq 40); do mkdir $d 2>/dev/null || break; d=$d/d; done
      sleep 0.5
      echo "wide $(find $cg -mindepth 1 -maxdepth 1 -type d -name 'c*' | wc -l)"
      echo "deep $(find $cg/deep -type d 2>/dev/null | wc -l)"
      echo "all $(find $cg -mindepth 1 -type d | wc -l)"`, 60_000);
    const wide = Number(/wide (\d+)/.exec(r.output)?.[1]);
    const deep = Number(/deep (\d+)/.exec(r.output)?.[1]);
    expect(wide).toBeLessThanOrEqual(KERNEL_OBJECT_LIMITS.cgroups);
    expect(wide).toBeGreaterThan(8); // lessons still make a few
    expect(deep).toBeLessThanOrEqual(KERNEL_OBJECT_LIMITS.cgroupDepth);
    // the leaf holding the sandbox's processes (v2) is one of them
    expect(Number(/all (\d+)/.exec(r.output)?.[1])).toBeLessThanOrEqual(KERNEL_OBJECT_LIMITS.cgroups + 1);
    // at most what the bound allows, with room for the rest of the machine's churn
    expect(SUNRECLAIM() - slab).toBeLessThan(256 * 1024 * 1024);
    await othersUnharmed();
  });

  it.each([
    ['network', 'unshare --net', 'net', KERNEL_OBJECT_LIMITS.netNamespaces],
    ['mount', 'unshare --mount', 'mnt', KERNEL_OBJECT_LIMITS.mntNamespaces],
    ['user', 'unshare --user', 'user', KERNEL_OBJECT_LIMITS.userNamespaces],
    ['PID', 'unshare --pid --fork', 'pid', KERNEL_OBJECT_LIMITS.pidNamespaces],
  ])('stops a learner creating %s namespaces at the sandbox\'s bound', async (_kind, command, type, limit) => {
    const shell = await learner();
    const r = await shell.run(`
      for i in $(seq 300); do setsid -f ${command} sleep 300 >/dev/null 2>&1 </dev/null; done
      sleep 1
      for p in /proc/[0-9]*; do readlink $p/ns/${type}; done 2>/dev/null | sort -u | wc -l
      pkill -9 -x sleep; true`, 60_000);
    // the sandbox's own namespace counts among them
    expect(Number(r.output.split('\n')[0])).toBeLessThanOrEqual(limit + 1);
    await othersUnharmed();
  });
});

describe('processes, memory and disk', () => {
  it('stops a fork bomb at the pids limit', async () => {
    const shell = await learner();
    // once the bomb runs nothing can fork: the script waits and reads the kernel's count with bash
    // builtins only (a glob of /proc while pids churn lists some that died and some born since: on a
    // slow machine, more than were ever alive at once)
    const r = await shell.run(`
      mkfifo /tmp/wait; exec 9<>/tmp/wait
      if [ -e /sys/fs/cgroup/cgroup.controllers ]; then cg=/sys/fs/cgroup; else cg=/sys/fs/cgroup/pids; fi
      setsid -f bash -c 'bomb() { bomb | bomb & }; bomb' >/dev/null 2>&1 </dev/null
      # until it nears the limit (a slow machine's bomb takes longer), then a second more
      for ((i = 0; i < ${Math.round(scaled(30))}; i++)); do read -t 0.1 -u 9; read -r n < $cg/pids.current; [ "$n" -ge 500 ] && break; done
      read -t 1 -u 9; read -r n < $cg/pids.current; read -r max < $cg/pids.max; echo "pids $n of $max"`, scaled(30_000));
    const [, current, max] = /pids (\d+) of (\d+)/.exec(r.output) ?? [];
    expect(Number(max)).toBe(512);
    // the bomb reached the limit, and no further
    expect(Number(current)).toBeGreaterThan(256);
    expect(Number(current)).toBeLessThanOrEqual(512);
    await othersUnharmed();
  }, scaled(60_000));

  it('kills a memory hog inside the sandbox, never anything outside', async () => {
    const shell = await learner();
    const r = await shell.run(`python3 -c 'b = bytearray(4 << 30); print("survived")'; echo "exit $?"`, 60_000);
    expect(r.output).not.toMatch(/^survived$/m);
    expect(r.output).toMatch(/exit (137|1)/);
    await othersUnharmed();
  }, scaled(90_000));

  it('stops a disk filler at the sandbox\'s own quota, never the host\'s disk', async () => {
    const shell = await learner();
    const free = statfsSync(TEST_DATA_DIR).bavail * statfsSync(TEST_DATA_DIR).bsize;
    const r = await shell.run('for d in /root /tmp /dev/shm /run; do dd if=/dev/zero of=$d/fill bs=1M count=4096 2>&1 | grep -m1 -o "No space left on device"; rm -f $d/fill; done', 60_000);
    expect(r.output).toMatch(/No space left on device/);
    // the host's disk lost nothing like the gigabytes asked for
    expect(free - statfsSync(TEST_DATA_DIR).bavail * statfsSync(TEST_DATA_DIR).bsize).toBeLessThan(256 * 1024 * 1024);
    await othersUnharmed();
  }, scaled(90_000));
});
