// The sandbox engine against real sandboxes: isolation, what a learner may do
// inside, what they may not, and that nothing outlives a sandbox.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCgroups, SANDBOXES_CPU_WEIGHT } from '../../server/sandbox/cgroups.js';
import type { SandboxInfo } from '../../server/sandbox/driver.js';
import { DRIVERS, makeDriver, makeNamespacesDriver, type TestDriver } from '../helpers/drivers.js';
import { scaled } from '../helpers/env.js';

const PIDS_LIMIT = 128;

describe.each(DRIVERS)('%s driver', (driverName) => {
  let t: TestDriver;
  const created: SandboxInfo[] = [];

  beforeAll(async () => {
    t = await makeDriver(driverName, 'sandbox', { pids: PIDS_LIMIT });
  });

  afterAll(async () => {
    await t.close();
    expect(await t.leftovers()).toEqual([]);
  });

  async function create(): Promise<SandboxInfo> {
    const info = await t.driver.create();
    created.push(info);
    return info;
  }

  function sh(id: string, script: string, timeoutMs = 20_000) {
    return t.driver.exec(id, ['bash', '-c', script], { timeoutMs: scaled(timeoutMs) });
  }

  it('keeps two sandboxes apart: processes, files, hostname and network', async () => {
    const [a, b] = await Promise.all([create(), create()]);
    expect(a.hostname).not.toBe(b.hostname);

    const started = await sh(a.id, `
      echo secret > /root/only-in-a
      setsid -f sleep 4242 >/dev/null 2>&1 </dev/null
      setsid -f python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1 </dev/null
      for i in $(seq 100); do curl -s -o /dev/null 127.0.0.1:8000 && break; sleep 0.05; done
      curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:8000`);
    expect(started.stdout).toBe('200');

    const fromA = await sh(a.id, 'hostname; ps -eo args | grep -c "^sleep 4242"');
    expect(fromA.stdout.split('\n')).toEqual([a.hostname, '1', '']);

    const fromB = await sh(b.id, `
      hostname
      ps -eo args | grep -c "^sleep 4242"
      test -e /root/only-in-a && echo file-visible || echo no-file
      curl -s -o /dev/null -w '%{http_code}' --max-time 2 127.0.0.1:8000 || true
      echo
      ip -o link | awk -F': ' '{print $2}'`);
    expect(fromB.stdout.split('\n')).toEqual([b.hostname, '0', 'no-file', '000', 'lo', '']);
  });

  it('gives a sandbox no route off the machine', async () => {
    const box = await create();
    // `ip route get` consults the routing table without sending anything
    const r = await sh(box.id, 'ip route; ip route get 192.0.2.1 2>&1; ip -6 route get 2001:db8::1 2>&1');
    expect(r.stdout).toMatch(/Network is unreachable/);
    expect(r.stdout).not.toMatch(/via|dev (?!lo)/);
  });

  it('lets the learner create every kind of namespace', async () => {
    const box = await create();
    const r = await sh(box.id, `
      for pair in mnt:-m uts:-u ipc:-i net:-n pid:-pf cgroup:-C user:-U time:-Tf; do
        ns=\${pair%%:*}; flag=\${pair#*:}
        [ -e /proc/self/ns/$ns ] || { echo "$ns absent"; continue; }
        inner=$(unshare $flag readlink /proc/self/ns/$ns 2>&1)
        # a new time namespace applies to children, as the PID namespace does
        [ "$ns" = time ] && inner=$(unshare $flag sh -c 'readlink /proc/self/ns/time' 2>&1)
        [ "$inner" != "$(readlink /proc/self/ns/$ns)" ] && echo "$ns new" || echo "$ns FAILED: $inner"
      done`);
    const lines = r.stdout.trim().split('\n');
    for (const ns of ['mnt', 'uts', 'ipc', 'net', 'pid', 'cgroup', 'user']) expect(lines).toContain(`${ns} new`);
    expect(r.stdout).not.toMatch(/FAILED/);
  });

  it('lets the learner mount tmpfs, overlay (opaque directories too, where tmpfs keeps user xattrs) and the proc of a PID namespace of theirs', async () => {
    const box = await create();
    // an opaque directory is a user xattr on the upper tmpfs, which Linux keeps from 6.6 on (the probe's overlay-opaque)
    const xattrs = (await sh(box.id, 'touch /tmp/x && setfattr -n user.t -v 1 /tmp/x && echo yes')).stdout === 'yes\n';
    const r = await sh(box.id, `
      set -e
      mkdir -p /mnt/scratch && mount -t tmpfs -o size=1m scratch /mnt/scratch && findmnt -no FSTYPE /mnt/scratch
      cd /tmp && mkdir -p lower/d upper work merged && echo low > lower/f && echo low > lower/d/f
      mount -t overlay overlay -o userxattr,lowerdir=lower,upperdir=upper,workdir=work merged
      echo new > merged/g && rm merged/f
      ${xattrs ? 'rm -r merged/d && mkdir merged/d' : ''}
      findmnt -no FSTYPE merged; ls upper; test -c upper/f && test ! -e lower/g && echo lower-untouched
      ${xattrs ? 'getfattr --only-values -n user.overlay.opaque upper/d; echo' : ''}
      unshare --pid --fork --mount sh -c 'mkdir -p /mnt/proc && mount -t proc proc /mnt/proc && readlink /mnt/proc/1/exe >/dev/null && echo proc-ok'`);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['tmpfs', 'overlay', ...(xattrs ? ['d'] : []), 'f', 'g', 'lower-untouched', ...(xattrs ? ['y'] : []), 'proc-ok', '']);
  });

  it('lets the learner limit memory in a cgroup of their own, and OOM-kills there', async () => {
    const box = await create();
    const r = await sh(box.id, `
      if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
        cg=/sys/fs/cgroup/demo; mkdir $cg; echo 20M > $cg/memory.max; echo 0 > $cg/memory.swap.max 2>/dev/null || true
        events() { grep -w oom_kill $cg/memory.events; }
      else
        cg=/sys/fs/cgroup/memory/demo; mkdir $cg; echo 20M > $cg/memory.limit_in_bytes
        events() { grep -w oom_kill $cg/memory.oom_control; }
      fi
      sh -c "echo \\$\\$ > $cg/cgroup.procs; exec python3 -c 'b = bytearray(200 * 1024 * 1024); print(\\"survived\\")'"
      echo "exit=$?"
      events`);
    expect(r.stdout).not.toMatch(/survived/);
    expect(r.stdout).toMatch(/exit=137/);
    expect(Number(/oom_kill (\d+)/.exec(r.stdout)?.[1])).toBeGreaterThanOrEqual(1);
  });

  it('never lets the learner raise the sandbox\'s own limits', async () => {
    const box = await create();
    // inside, the root of /sys/fs/cgroup is the sandbox's own cgroup, with its limits: the learner's root owns it, never its limits
    const raise = await sh(box.id, `
      if [ -e /sys/fs/cgroup/cgroup.controllers ]; then echo max > /sys/fs/cgroup/memory.max; echo max > /sys/fs/cgroup/pids.max
      else echo -1 > /sys/fs/cgroup/memory/memory.limit_in_bytes; echo max > /sys/fs/cgroup/pids/pids.max; fi`);
    expect(raise.stderr).toMatch(/Permission denied/);
    // the limits are unchanged and still bite
    const usage = await t.driver.usage(box.id);
    expect(usage.memoryLimitBytes).toBe(512 * 1024 ** 2);
    expect(usage.pidsLimit).toBe(PIDS_LIMIT);
    const hog = await sh(box.id, `python3 -c 'b = bytearray(700 * 1024 * 1024); print("survived")'; echo "exit=$?"`);
    expect(hog.stdout).toMatch(/exit=137/);
  });

  it('lets the learner build veth pairs, a bridge and named network namespaces', async () => {
    const box = await create();
    const r = await sh(box.id, `
      set -e
      ip link add br0 type bridge && ip link set br0 up && ip addr add 10.99.0.1/24 dev br0
      n=2
      for ns in red blue; do
        ip netns add $ns
        ip link add veth-$ns type veth peer name eth0 netns $ns
        ip link set veth-$ns master br0 up
        ip -n $ns addr add 10.99.0.$n/24 dev eth0; ip -n $ns link set eth0 up; ip -n $ns link set lo up
        n=$((n + 1))
      done
      ip netns list | awk '{print $1}' | sort | tr '\\n' ' '; echo
      ip netns exec red ping -c1 -W2 10.99.0.3 >/dev/null && echo red-reaches-blue
      ping -c1 -W2 10.99.0.2 >/dev/null && echo host-reaches-red`);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['blue red ', 'red-reaches-blue', 'host-reaches-red', '']);
  });

  it('stops a fork bomb at the pids limit while another sandbox still answers within a second', async () => {
    const [bombed, other] = await Promise.all([create(), create()]);
    const bomb = sh(bombed.id, 'bomb() { bomb | bomb & }; bomb; sleep 30', 8000);
    await new Promise((resolve) => setTimeout(resolve, scaled(1500)));
    const usage = await t.driver.usage(bombed.id);
    expect(usage.pids).toBeGreaterThan(PIDS_LIMIT / 2);
    expect(usage.pids).toBeLessThanOrEqual(PIDS_LIMIT);
    const started = performance.now();
    const answer = await t.driver.exec(other.id, ['echo', 'still here']);
    expect(answer.stdout).toBe('still here\n');
    expect(performance.now() - started).toBeLessThan(scaled(1000));
    await t.driver.destroy(bombed.id);
    await bomb.catch(() => undefined);
    expect(await t.leftovers(bombed.id)).toEqual([]);
  });

  it('keeps the host\'s block devices out of reach', async () => {
    const box = await create();
    // the device of the host's root filesystem, as major:minor
    const rootLine = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === '/')!;
    const [major, minor] = rootLine.split(' ')[2]!.split(':');
    const r = await sh(box.id, `
      find / -xdev -type b 2>/dev/null | wc -l
      mknod /tmp/disk b ${major} ${minor} 2>&1 || echo mknod-refused
      head -c 512 /tmp/disk 2>/dev/null | wc -c`);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('0');
    expect(lines).toContain('mknod-refused');
    expect(lines.at(-1)).toBe('0');
  });

  it('runs commands to completion with exit code, output and a timeout that kills the whole group', async () => {
    const box = await create();
    const ok = await t.driver.exec(box.id, ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(ok).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    const input = await t.driver.exec(box.id, ['tr', 'a-z', 'A-Z'], { input: 'shout' });
    expect(input.stdout).toBe('SHOUT');
    const asked = Date.now();
    const slow = await t.driver.exec(box.id, ['sh', '-c', 'sleep 300 & sleep 301'], { timeoutMs: 300 });
    expect(slow).toMatchObject({ timedOut: true, exitCode: 137 });
    // the answer comes at the timeout; the command's processes are ended meanwhile
    expect(Date.now() - asked).toBeLessThan(1500);
    await expect.poll(async () => (await sh(box.id, 'ps -eo args | grep -c "^sleep 30[01]" || true')).stdout.trim(), { timeout: scaled(5000) }).toBe('0');
    const missing = await t.driver.exec(box.id, ['no-such-command']);
    expect(missing.exitCode).toBe(127);
  });

  it('runs an interactive shell on a pty and ends all it started', async () => {
    const box = await create();
    const term = t.driver.spawnPty(box.id, ['bash', '-l'], { cols: 80, rows: 24 });
    let screen = '';
    term.onData((d) => {
      screen += d.toString('utf8');
    });
    const exited = new Promise((resolve) => term.onExit(resolve));
    term.write('sleep 777 & echo $((6 * 7))-$(tty)\r');
    await expect.poll(() => screen, { timeout: scaled(5000) }).toMatch(/42-\/dev\/pts\/0/);
    expect((await sh(box.id, 'ps -eo args | grep -c "^sleep 777"')).stdout.trim()).toBe('1');
    // window size changes reach the sandbox's terminal; Ctrl-C interrupts the foreground job
    term.resize(101, 33);
    term.write('stty size\r');
    await expect.poll(() => screen, { timeout: scaled(5000) }).toMatch(/33 101/);
    term.write('sleep 888\r');
    await new Promise((resolve) => setTimeout(resolve, 300));
    term.write('\x03');
    term.write('echo after-$?\r');
    await expect.poll(() => screen, { timeout: scaled(5000) }).toMatch(/after-130/);
    await term.terminate(500);
    await exited;
    expect((await sh(box.id, 'ps -eo args | grep -c "^sleep 777" || true')).stdout.trim()).toBe('0');
  });

  it('resets a sandbox to a clean state with the same identity', async () => {
    const box = await create();
    await sh(box.id, 'echo dirty > /root/mess; setsid -f sleep 555 >/dev/null 2>&1 </dev/null; mkdir -p /sys/fs/cgroup/pids/leftover /sys/fs/cgroup/leftover 2>/dev/null; ip link add dummybr type bridge');
    await t.driver.reset(box.id);
    const r = await sh(box.id, 'hostname; test -e /root/mess && echo dirty || echo clean; ps -eo args | grep -c "^sleep 555"; ip -o link | wc -l');
    expect(r.stdout.split('\n')).toEqual([box.hostname, 'clean', '0', '1', '']);
    expect(t.driver.list().map((s) => s.id)).toContain(box.id);
  });

  it('reports resource usage against the limits', async () => {
    const box = await create();
    const usage = await t.driver.usage(box.id);
    expect(usage.memoryLimitBytes).toBe(512 * 1024 ** 2);
    expect(usage.pidsLimit).toBe(PIDS_LIMIT);
    expect(usage.pids).toBeGreaterThanOrEqual(1);
    expect(usage.memoryBytes).toBeGreaterThan(0);
  });

  it('leaves nothing behind after destroy: mounts, cgroups, processes', async () => {
    const box = await create();
    await sh(box.id, `
      setsid -f unshare -m -p -f --mount-proc sleep 999 >/dev/null 2>&1 </dev/null
      mount -t tmpfs none /mnt; ip netns add kept
      if [ -e /sys/fs/cgroup/cgroup.controllers ]; then mkdir -p /sys/fs/cgroup/mine/deeper; else mkdir -p /sys/fs/cgroup/memory/mine/deeper; fi`);
    expect(await t.leftovers(box.id)).not.toEqual([]);
    await t.driver.destroy(box.id);
    expect(await t.leftovers(box.id)).toEqual([]);
    expect(t.driver.list().map((s) => s.id)).not.toContain(box.id);
    await expect(t.driver.exec(box.id, ['true'])).rejects.toThrow(/no sandbox/);
  });

  it('lists its sandboxes', async () => {
    const box = await create();
    expect(t.driver.list()).toContainEqual(expect.objectContaining({ id: box.id, hostname: box.hostname, driver: driverName }));
  });
});

describe.each(DRIVERS)('%s driver with a small disk', (driverName) => {
  let t: TestDriver;
  const DISK = 64 * 1024 ** 2;

  beforeAll(async () => {
    t = await makeDriver(driverName, 'disk', { diskBytes: DISK });
  });

  afterAll(async () => {
    await t.close();
    expect(await t.leftovers()).toEqual([]);
  });

  it('stops a disk filler at the sandbox\'s disk limit', async () => {
    const box = await t.driver.create();
    const r = await t.driver.exec(box.id, ['bash', '-c', 'dd if=/dev/zero of=/root/fill bs=1M count=200 2>&1 | grep -o "No space left on device" | head -n 1; df -B1 --output=size / | tail -n 1'], { timeoutMs: scaled(20_000) });
    const [message, size] = r.stdout.trim().split('\n');
    expect(message).toBe('No space left on device');
    expect(Number(size)).toBeLessThanOrEqual(DISK);
    expect((await t.driver.exec(box.id, ['echo', 'still here'])).stdout).toBe('still here\n');
  });
});

describe('cgroup layout on this host', () => {
  it('detects the cgroup version this machine runs', () => {
    const host = detectCgroups();
    const unified = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === '/sys/fs/cgroup' && l.includes(' - cgroup2 '));
    expect(host.version).toBe(unified ? 2 : 1);
    expect(host.hierarchies.every((h) => path.isAbsolute(h.mountPoint))).toBe(true);
  });

  it('weighs the sandboxes together above one process elsewhere for the CPU', async () => {
    const t = await makeNamespacesDriver('weight');
    try {
      const host = detectCgroups();
      const [file, unit] =
        host.version === 2
          ? [path.join(host.root, t.instance, 'cpu.weight'), 100]
          : [path.join(host.hierarchies.find((h) => h.controllers.includes('cpu'))!.mountPoint, t.instance, 'cpu.shares'), 1024];
      const hasCpu = host.version === 1 || readFileSync(path.join(host.root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu');
      if (hasCpu) expect(Number(readFileSync(file, 'utf8'))).toBe(unit * SANDBOXES_CPU_WEIGHT);
      expect(SANDBOXES_CPU_WEIGHT).toBeGreaterThan(1);
    } finally {
      await t.close();
    }
  });
});
