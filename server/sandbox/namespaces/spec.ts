// What a namespaces sandbox looks like, as the list of operations the native
// helper (native/boxlab-sandbox.c) carries out in the sandbox's PID 1 before it
// becomes the init. Everything here happens inside the sandbox's own mount
// namespace, so the host's mount table never sees a sandbox mount, and the
// kernel releases them all when the sandbox's last process dies.
import path from 'node:path';
import type { CgroupManager } from '../cgroups.js';
import type { SandboxLimits } from '../driver.js';

export interface SpecInput {
  id: string;
  hostname: string;
  /** The shared, read-only lower layer. */
  rootfs: string;
  /** An empty host directory used as a mount point inside the new mount namespace. */
  stage: string;
  limits: SandboxLimits;
  cgroups: CgroupManager;
  /** Names of entries in the host's /sys/fs/cgroup that are symlinks, with their targets (v1: cpu -> cpu,cpuacct). */
  cgroupLinks?: Record<string, string>;
  /** /proc entries to hide behind /dev/null (those that exist on this kernel). */
  procMasks?: string[];
}

/** /proc files that reach the host kernel itself. */
export const PROC_MASKS = ['kcore', 'sysrq-trigger', 'timer_list', 'keys', 'kallsyms', 'sched_debug'];

const DEVICES: Array<[name: string, major: number, minor: number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
  ['net/tun', 10, 200],
];

/** Percent-encodes a field so it holds no space, newline or percent sign. */
export function field(value: string | number): string {
  const text = String(value);
  if (text === '') return '-';
  return text.replace(/[%\s]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
}

function op(...fields: Array<string | number>): string {
  return fields.map(field).join(' ');
}

function mount(source: string, target: string, fstype: string, flags: string, data = ''): string {
  return op('mount', source || '-', target, fstype || '-', flags || '-', data || '-');
}

export function buildSpec(input: SpecInput): string {
  const { cgroups, limits } = input;
  const root = path.join(input.stage, 'root');
  const at = (p: string) => path.join(root, p);
  const lines: string[] = [];

  // cgroups first, so that nothing the sandbox does escapes its limits, and the
  // cgroup namespace (unshared next) has the sandbox's own cgroup as its root
  const filterDir = cgroups.deviceFilterDir(input.id);
  if (filterDir) lines.push(op('devfilter', filterDir));
  for (const file of cgroups.procsFiles(input.id, 'nsRoot')) lines.push(op('join', file));
  lines.push(op('unshare', 'mnt,uts,ipc,net,cgroup'));
  if (cgroups.version === 2) {
    for (const file of cgroups.procsFiles(input.id, 'leaf')) lines.push(op('join', file));
    for (const d of cgroups.dirs(input.id)) lines.push(op('echo', path.join(d.nsRoot, 'cgroup.subtree_control'), cgroups.nsSubtreeControl()));
  }

  // the root filesystem: the shared rootfs under a writable layer on a size-limited tmpfs
  lines.push(mount('', '/', '', 'rec,private'));
  lines.push(mount('tmpfs', input.stage, 'tmpfs', 'nosuid,nodev', `size=${limits.diskBytes},mode=755`));
  for (const dir of ['upper', 'work', 'root']) lines.push(op('mkdir', path.join(input.stage, dir), '755'));
  lines.push(mount('overlay', root, 'overlay', '', `lowerdir=${input.rootfs},upperdir=${input.stage}/upper,workdir=${input.stage}/work`));

  // /dev: made for the sandbox, never the host's
  lines.push(mount('tmpfs', at('dev'), 'tmpfs', 'nosuid,strictatime', 'size=64k,mode=755'));
  for (const dir of ['pts', 'shm', 'mqueue', 'net']) lines.push(op('mkdir', at(`dev/${dir}`), '755'));
  for (const [name, major, minor] of DEVICES) lines.push(op('mknod', at(`dev/${name}`), 'c', major, minor, '666'));
  lines.push(mount('devpts', at('dev/pts'), 'devpts', 'nosuid,noexec', 'newinstance,ptmxmode=0666,mode=0620,gid=5'));
  lines.push(op('symlink', 'pts/ptmx', at('dev/ptmx')));
  lines.push(mount('tmpfs', at('dev/shm'), 'tmpfs', 'nosuid,nodev,noexec', 'size=64m,mode=1777'));
  lines.push(mount('mqueue', at('dev/mqueue'), 'mqueue', 'nosuid,nodev,noexec'));
  lines.push(op('symlink', '/proc/self/fd', at('dev/fd')));
  ['stdin', 'stdout', 'stderr'].forEach((name, fd) => lines.push(op('symlink', `/proc/self/fd/${fd}`, at(`dev/${name}`))));

  // /proc of the new PID namespace, with the files that reach the host kernel hidden
  lines.push(mount('proc', at('proc'), 'proc', 'nosuid,nodev,noexec'));
  for (const name of input.procMasks ?? []) lines.push(mount(at('dev/null'), at(`proc/${name}`), '', 'bind'));
  // kernel.* settings are the host's: read-only; net.* belong to the sandbox's network namespace
  lines.push(mount(at('proc/sys'), at('proc/sys'), '', 'bind,ro,nosuid,nodev,noexec'));
  lines.push(mount(at('proc/sys/net'), at('proc/sys/net'), '', 'bind,nosuid,nodev,noexec'));

  // /sys of the new network namespace, read-only; the sandbox's cgroups at /sys/fs/cgroup
  lines.push(mount('sysfs', at('sys'), 'sysfs', 'ro,nosuid,nodev,noexec'));
  const cg = at('sys/fs/cgroup');
  if (cgroups.version === 2) {
    lines.push(mount('cgroup2', cg, 'cgroup2', 'nosuid,nodev,noexec'));
  } else {
    lines.push(mount('tmpfs', cg, 'tmpfs', 'nosuid,nodev,noexec', 'size=64k,mode=755'));
    for (const h of cgroups.host.hierarchies) {
      const name = path.relative(cgroups.host.root, h.mountPoint);
      lines.push(op('mkdir', path.join(cg, name), '755'));
      if (h.version === 2) lines.push(mount('cgroup2', path.join(cg, name), 'cgroup2', 'nosuid,nodev,noexec'));
      else lines.push(mount('cgroup', path.join(cg, name), 'cgroup', 'nosuid,nodev,noexec', h.mountOptions));
    }
    for (const [name, target] of Object.entries(input.cgroupLinks ?? {})) lines.push(op('symlink', target, path.join(cg, name)));
  }

  // scratch space: /tmp is a filesystem of its own (an overlay's upper dir cannot be on an overlay)
  lines.push(mount('tmpfs', at('tmp'), 'tmpfs', 'nosuid,nodev', `size=${limits.tmpBytes},mode=1777`));
  lines.push(mount('tmpfs', at('run'), 'tmpfs', 'nosuid,nodev', 'size=64m,mode=755'));

  // identity and network: a hostname of its own, loopback up, no other interface
  lines.push(op('write', at('etc/hostname'), '644', `${input.hostname}\n`));
  lines.push(op('write', at('etc/hosts'), '644', `127.0.0.1\tlocalhost\n127.0.1.1\t${input.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`));
  lines.push(op('hostname', input.hostname));
  lines.push(op('loopback'));

  lines.push(op('pivot', root));
  return lines.join('\n') + '\n';
}
