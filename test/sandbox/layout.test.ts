// What a namespaces sandbox is made of, read from the spec the helper runs.
import { expect, it } from 'vitest';
import { CgroupManager, detectCgroups } from '../../server/sandbox/cgroups.js';
import { buildSpec, field } from '../../server/sandbox/namespaces/spec.js';
import { DEFAULT_LIMITS } from '../helpers/drivers.js';

const V1_MOUNTINFO = `
25 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
32 30 0:28 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
33 30 0:29 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
34 30 0:30 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
35 30 0:31 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
36 30 0:32 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
`;
const V2_MOUNTINFO = `
25 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
`;

function spec(mountinfo: string): string[] {
  const cgroups = new CgroupManager('boxlab', detectCgroups(mountinfo));
  return buildSpec({ id: 'sbx-1', hostname: 'box-1', rootfs: '/data/rootfs/x', stage: '/data/run/stage', limits: DEFAULT_LIMITS, cgroups, procMasks: ['kcore'] }).trim().split('\n');
}

it('reads v1, hybrid and v2 hosts, with co-mounted and named hierarchies', () => {
  const v1 = detectCgroups(V1_MOUNTINFO);
  expect(v1.version).toBe(1);
  expect(v1.hierarchies.map((h) => h.mountOptions)).toEqual(['cpu,cpuacct', 'memory', 'devices', 'pids', 'none,name=systemd', '']);
  const v2 = detectCgroups(V2_MOUNTINFO);
  expect(v2).toMatchObject({ version: 2, hierarchies: [{ mountPoint: '/sys/fs/cgroup', version: 2 }] });
  expect(() => detectCgroups('25 1 254:0 / / rw - ext4 /dev/vda rw\n')).toThrow(/no cgroup hierarchy/);
});

it('joins the cgroups before unsharing, so the cgroup namespace is rooted at the sandbox', () => {
  for (const lines of [spec(V1_MOUNTINFO), spec(V2_MOUNTINFO)]) {
    const unshare = lines.findIndex((l) => l.startsWith('unshare'));
    const joins = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('join'));
    expect(joins[0]![1]).toBeLessThan(unshare);
    expect(joins[0]![0]).toMatch(/\/boxlab\/sbx-1\/sandbox\/cgroup\.procs$/);
  }
  // v2: processes move to a leaf so the learner may enable controllers at their root
  const v2 = spec(V2_MOUNTINFO);
  expect(v2).toContain('join /sys/fs/cgroup/boxlab/sbx-1/sandbox/init/cgroup.procs');
  expect(v2.some((l) => l.startsWith('devfilter /sys/fs/cgroup/boxlab/sbx-1'))).toBe(true);
  expect(spec(V1_MOUNTINFO).some((l) => l.startsWith('devfilter'))).toBe(false);
});

it('makes /dev from scratch and never mounts the host\'s', () => {
  const lines = spec(V1_MOUNTINFO);
  expect(lines.filter((l) => / \/dev(\/| )/.test(l) && l.startsWith('mount') && !l.includes('/data/run/stage/root/dev'))).toEqual([]);
  const nodes = lines.filter((l) => l.startsWith('mknod')).map((l) => l.split(' ')[1]!.replace('/data/run/stage/root', ''));
  expect(nodes).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/net/tun']);
  expect(lines.some((l) => l.startsWith('mknod') && / b /.test(l))).toBe(false);
  expect(lines).toContain('mount devpts /data/run/stage/root/dev/pts devpts nosuid,noexec newinstance,ptmxmode=0666,mode=0620,gid=5');
});

it('puts the writable layer and /tmp on size-limited tmpfs, then pivots into the overlay', () => {
  const lines = spec(V1_MOUNTINFO);
  expect(lines).toContain(`mount tmpfs /data/run/stage tmpfs nosuid,nodev size=${DEFAULT_LIMITS.diskBytes},mode=755`);
  expect(lines).toContain('mount overlay /data/run/stage/root overlay - lowerdir=/data/rootfs/x,upperdir=/data/run/stage/upper,workdir=/data/run/stage/work');
  expect(lines).toContain(`mount tmpfs /data/run/stage/root/tmp tmpfs nosuid,nodev size=${DEFAULT_LIMITS.tmpBytes},mode=1777`);
  expect(lines.indexOf('mount - / - rec,private -')).toBeLessThan(lines.findIndex((l) => l.startsWith('mount tmpfs')));
  expect(lines.at(-1)).toBe('pivot /data/run/stage/root');
});

it('mounts each v1 hierarchy inside with the host\'s options, and cgroup2 on v2', () => {
  const v1 = spec(V1_MOUNTINFO);
  expect(v1).toContain('mount cgroup /data/run/stage/root/sys/fs/cgroup/cpu,cpuacct cgroup nosuid,nodev,noexec cpu,cpuacct');
  expect(v1).toContain('mount cgroup /data/run/stage/root/sys/fs/cgroup/systemd cgroup nosuid,nodev,noexec none,name=systemd');
  expect(v1).toContain('mount cgroup2 /data/run/stage/root/sys/fs/cgroup/unified cgroup2 nosuid,nodev,noexec -');
  expect(spec(V2_MOUNTINFO)).toContain('mount cgroup2 /data/run/stage/root/sys/fs/cgroup cgroup2 nosuid,nodev,noexec -');
});

it('hides host kernel files in /proc and keeps kernel settings read-only', () => {
  const lines = spec(V1_MOUNTINFO);
  expect(lines).toContain('mount /data/run/stage/root/dev/null /data/run/stage/root/proc/kcore - bind -');
  expect(lines).toContain('mount /data/run/stage/root/proc/sys /data/run/stage/root/proc/sys - bind,ro,nosuid,nodev,noexec -');
});

it('encodes fields so spaces and newlines survive', () => {
  expect(field('a b\nc%')).toBe('a%20b%0Ac%25');
  expect(field('')).toBe('-');
});
