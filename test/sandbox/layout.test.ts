// What a namespaces sandbox is made of, read from the spec the helper runs.
import { expect, it } from 'vitest';
import { CgroupManager, detectCgroups } from '../../server/sandbox/cgroups.js';
import { buildSpec, field } from '../../server/sandbox/spec.js';
import { IDS, KERNEL_OBJECT_LIMITS } from '../../server/sandbox/policy.js';
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
  return buildSpec({ hostname: 'box-1', rootfs: '/data/rootfs/x', stage: '/data/run/stage', leases: '/run/boxlab/ids', limits: DEFAULT_LIMITS, cgroups: cgroups.layout('sbx-1', {}) }).trim().split('\n');
}

it('reads v1, hybrid and v2 hosts, with co-mounted and named hierarchies', () => {
  const v1 = detectCgroups(V1_MOUNTINFO);
  expect(v1.version).toBe(1);
  expect(v1.hierarchies.map((h) => h.mountOptions)).toEqual(['cpu,cpuacct', 'memory', 'devices', 'pids', 'none,name=systemd', '']);
  const v2 = detectCgroups(V2_MOUNTINFO);
  expect(v2).toMatchObject({ version: 2, hierarchies: [{ mountPoint: '/sys/fs/cgroup', version: 2 }] });
  expect(() => detectCgroups('25 1 254:0 / / rw - ext4 /dev/vda rw\n')).toThrow(/no cgroup hierarchy/);
});

it('makes the user namespaces from a leased block of host ids, inside the learner\'s delegated cgroups', () => {
  for (const lines of [spec(V1_MOUNTINFO), spec(V2_MOUNTINFO)]) {
    expect(lines[0]).toBe(`lease /run/boxlab/ids ${IDS.first} ${IDS.blocks} ${IDS.size}`);
    const namespaces = lines.findIndex((l) => l.startsWith('namespaces '));
    // the holders join the cgroup namespace's root, with the per-namespace limits set in the outer user namespace
    expect(lines[namespaces]).toMatch(/^namespaces max_user_namespaces=17,.*max_net_namespaces=33.* \/sys\/fs\/cgroup\/\S*boxlab\/sbx-1\/sandbox\/cgroup\.procs/);
    expect(lines.findIndex((l) => l.startsWith('chown /sys/fs/cgroup'))).toBeLessThan(namespaces);
    // the holders are not the PID namespace's first process: it is made after them
    expect(namespaces).toBeLessThan(lines.indexOf('unshare-pid'));
    expect(lines.indexOf('unshare-mnt')).toBeLessThan(namespaces);
  }
  const v2 = spec(V2_MOUNTINFO);
  // delegated: the directories and the files that move processes, never the limits
  expect(v2.filter((l) => l.startsWith('chown /sys/fs/cgroup'))).toEqual([
    'chown /sys/fs/cgroup/boxlab/sbx-1/sandbox 0 0',
    'chown /sys/fs/cgroup/boxlab/sbx-1/sandbox/cgroup.procs 0 0',
    'chown /sys/fs/cgroup/boxlab/sbx-1/sandbox/cgroup.threads 0 0',
    'chown /sys/fs/cgroup/boxlab/sbx-1/sandbox/cgroup.subtree_control 0 0',
    'chown /sys/fs/cgroup/boxlab/sbx-1/sandbox/init 0 0',
    'chown /sys/fs/cgroup/boxlab/sbx-1/sandbox/init/cgroup.procs 0 0',
  ]);
  expect(v2).toContain('join /sys/fs/cgroup/boxlab/sbx-1/sandbox/init/cgroup.procs');
  expect(v2.some((l) => l.startsWith('devfilter /sys/fs/cgroup/boxlab/sbx-1'))).toBe(true);
  expect(v2.some((l) => l.startsWith('guard'))).toBe(false);
  const v1 = spec(V1_MOUNTINFO);
  expect(v1.some((l) => l.startsWith('devfilter'))).toBe(false);
  // v1 has no cgroup.max.descendants: the shim guards every v1 hierarchy's tree
  // nsdelegate (v2 as systemd mounts it) lets a process move itself only between cgroups its cgroup namespace
  // sees: the sandbox's cgroup tree is mounted inside the sandbox's cgroup namespace, then the shim goes back
  // to the host's, and PID 1 joins its cgroups there before it enters the sandbox's (found by the v2 VM)
  for (const lines of [v1, v2]) {
    const lastMount = lines.reduce((at, l, k) => (/^mount cgroup2? /.test(l) ? k : at), -1);
    const lastJoin = lines.reduce((at, l, k) => (l.startsWith('join ') ? k : at), -1);
    expect(lastMount).toBeGreaterThan(lines.findIndex((l) => l.startsWith('namespaces ')));
    expect(lines.indexOf('cgroupns host')).toBeGreaterThan(lastMount);
    expect(lines.indexOf('cgroupns host')).toBe(lines.indexOf('fork-init') - 1);
    expect(lines.indexOf('cgroupns sandbox')).toBe(lastJoin + 1);
  }
  expect(v1.find((l) => l.startsWith('guard'))).toBe(`guard ${KERNEL_OBJECT_LIMITS.cgroups} ${KERNEL_OBJECT_LIMITS.cgroupDepth} /sys/fs/cgroup/cpu,cpuacct/boxlab/sbx-1/sandbox /sys/fs/cgroup/memory/boxlab/sbx-1/sandbox /sys/fs/cgroup/devices/boxlab/sbx-1/sandbox /sys/fs/cgroup/pids/boxlab/sbx-1/sandbox /sys/fs/cgroup/systemd/boxlab/sbx-1/sandbox`);
});

it('makes /dev from scratch and never mounts the host\'s', () => {
  const lines = spec(V1_MOUNTINFO);
  expect(lines.filter((l) => / \/dev(\/| )/.test(l) && l.startsWith('mount') && !l.includes('/data/run/stage/root/dev'))).toEqual([]);
  const nodes = lines.filter((l) => l.startsWith('mknod')).map((l) => l.split(' ')[1]!.replace('/data/run/stage/root', ''));
  expect(nodes).toEqual(['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty', '/dev/net/tun']);
  expect(lines.some((l) => l.startsWith('mknod') && / b /.test(l))).toBe(false);
  // the sandbox's root owns its /dev; its terminals belong to its own tty group
  expect(lines).toContain('mount tmpfs /data/run/stage/root/dev tmpfs nosuid,strictatime size=64k,mode=755,uid=@root,gid=@root');
  expect(lines).toContain('mount devpts /data/run/stage/root/dev/pts devpts nosuid,noexec newinstance,ptmxmode=0666,mode=0620,gid=@root+5');
});

it('lays the writable layer over an idmapped view of the shared rootfs, naming no host path, then pivots and locks', () => {
  const lines = spec(V1_MOUNTINFO);
  expect(lines).toContain(`mount tmpfs /data/run/stage tmpfs nosuid,nodev size=${DEFAULT_LIMITS.diskBytes},mode=755`);
  expect(lines).toContain('mount-idmapped /data/rootfs/x /data/run/stage/lower');
  expect(lines).toContain('chown /data/run/stage/upper 0 0');
  const overlay = lines.indexOf('mount overlay /data/run/stage/root overlay - lowerdir=lower,upperdir=upper,workdir=work');
  expect(lines[overlay - 1]).toBe('chdir /data/run/stage');
  expect(lines).toContain(`mount tmpfs /data/run/stage/root/tmp tmpfs nosuid,nodev size=${DEFAULT_LIMITS.tmpBytes},mode=1777,uid=@root,gid=@root`);
  // a container engine's layers need an upper layer's filesystem: not the root overlay
  expect(lines).toContain(`mount tmpfs /data/run/stage/root/var/lib/docker tmpfs - size=${DEFAULT_LIMITS.diskBytes},mode=710,uid=@root,gid=@root`);
  expect(lines.indexOf('mount - / - rec,private -')).toBeLessThan(lines.findIndex((l) => l.startsWith('mount tmpfs')));
  // PID 1: a mount namespace of its own, its cgroups and cgroup namespace, /proc, the pivot, then the learner's root and a locked copy
  const init = lines.indexOf('fork-init');
  expect(lines.slice(init + 1).filter((l) => !l.startsWith('join') && !l.startsWith('write') && !l.startsWith('echo'))).toEqual([
    'unshare-mnt',
    'cgroupns sandbox',
    'mount proc /data/run/stage/root/proc proc nosuid,nodev,noexec -',
    'pivot /data/run/stage/root',
    'become-root',
    'lock',
    'hostname box-1',
    'loopback',
  ]);
});

it('mounts each v1 hierarchy inside with the host\'s options, and cgroup2 on v2', () => {
  const v1 = spec(V1_MOUNTINFO);
  expect(v1).toContain('mount cgroup /data/run/stage/root/sys/fs/cgroup/cpu,cpuacct cgroup nosuid,nodev,noexec cpu,cpuacct');
  expect(v1).toContain('mount cgroup /data/run/stage/root/sys/fs/cgroup/systemd cgroup nosuid,nodev,noexec none,name=systemd');
  expect(v1).toContain('mount cgroup2 /data/run/stage/root/sys/fs/cgroup/unified cgroup2 nosuid,nodev,noexec -');
  expect(spec(V2_MOUNTINFO)).toContain('mount cgroup2 /data/run/stage/root/sys/fs/cgroup cgroup2 nosuid,nodev,noexec -');
});

it('masks nothing in /proc: the user namespace keeps the host\'s files from the learner, and a fresh proc mount stays possible', () => {
  // a file mounted over in /proc would make every new proc mount "too revealing" for the kernel
  expect(spec(V1_MOUNTINFO).filter((l) => l.startsWith('mount') && l.includes('/root/proc/'))).toEqual([]);
});

it('encodes fields so spaces and newlines survive', () => {
  expect(field('a b\nc%')).toBe('a%20b%0Ac%25');
  expect(field('')).toBe('-');
});
