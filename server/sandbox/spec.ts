// What a sandbox is, for both drivers, as the list of operations the native
// helper (native/spec.c) carries out: its shim runs those before "fork-init"
// as host root (in a docker-driver sandbox, the container's root: the same
// root, as the engine runs no user namespace of its own), the sandbox's PID 1
// the rest.
//
// The order is the security design. The shim leases a block of host ids and
// makes the sandbox's user namespaces (the learner's root is the block's first
// id, never host root), then builds the whole tree in a mount namespace of
// host root's: the shared rootfs through an idmapped mount (one read-only
// copy for every sandbox, its root files the learner's root's), the writable
// layer, /dev, /sys, the cgroups. PID 1 mounts its /proc, pivots into the
// tree, becomes the learner's root and copies the mount namespace into one of
// its own ("lock"): the kernel then refuses to remount or uncover any mount it
// was given, and everything of the host's (its settings in /proc/sys and
// /sys, its devices) belongs to ids the learner does not have.
import path from 'node:path';
import type { Hierarchy, SandboxCgroupDirs } from './cgroups.js';
import type { SandboxLimits } from './driver.js';
import { DEVICE_NODES, IDS, KERNEL_OBJECT_LIMITS, userNamespaceLimits } from './policy.js';

/** A sandbox's cgroups, in every hierarchy, as the helper reaches them. */
export interface SpecCgroups {
  /** 2 when the host has the unified hierarchy only. */
  version: 1 | 2;
  trees: Array<{
    /** Its name under /sys/fs/cgroup ("memory", "cpu,cpuacct", "" for a v2 host). */
    name: string;
    hierarchy: Hierarchy;
    dirs: SandboxCgroupDirs;
  }>;
  /** Entries of /sys/fs/cgroup that are symlinks, with their targets (v1: cpu -> cpu,cpuacct). */
  links: Record<string, string>;
  /** v2: what the learner's root enables for their own cgroups ("+cpu +memory ..."). */
  subtreeControl: string;
  /** v2 without a devices controller: where the device filter goes. */
  deviceFilterDir?: string;
}

export interface SpecInput {
  hostname: string;
  /** The shared, read-only lower layer. */
  rootfs: string;
  /** An empty directory used as a mount point inside the new mount namespace. */
  stage: string;
  /** Where the host-wide leases of id blocks are (shared by every boxlab on the host). */
  leases: string;
  limits: SandboxLimits;
  cgroups: SpecCgroups;
  /** Operations first of all (the docker driver's: the container's own cgroups, mounted where the helper reaches them). */
  preamble?: string[];
}

/** Where the helper's leases of id blocks live unless told otherwise. */
export const LEASES_DIR = '/run/boxlab/ids';

/** Percent-encodes a field so it holds no space, newline or percent sign. */
export function field(value: string | number): string {
  const text = String(value);
  if (text === '') return '-';
  return text.replace(/[%\s]/g, (c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase());
}

export function op(...fields: Array<string | number>): string {
  return fields.map(field).join(' ');
}

export function mount(source: string, target: string, fstype: string, flags: string, data = ''): string {
  return op('mount', source || '-', target, fstype || '-', flags || '-', data || '-');
}

/** A directory the learner's root owns. */
function ownDir(dir: string, mode = '755'): string[] {
  return [op('mkdir', dir, mode), op('chown', dir, 0, 0)];
}

/** The files of a cgroup a delegate needs to own to manage its subtree (cgroup v2's delegation; v1 alike). */
export function delegatedFiles(version: 1 | 2): string[] {
  return version === 2 ? ['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control'] : ['cgroup.procs', 'tasks'];
}

/** The learner's cgroup tree root and leaf, theirs to manage; its limits and the cgroups above stay host root's. */
export function delegationOps(nsRoot: string, leaf: string, version: 1 | 2): string[] {
  const lines = [op('chown', nsRoot, 0, 0), ...delegatedFiles(version).map((f) => op('chown', path.join(nsRoot, f), 0, 0))];
  if (leaf !== nsRoot) lines.push(op('chown', leaf, 0, 0), op('chown', path.join(leaf, 'cgroup.procs'), 0, 0));
  return lines;
}

/** The /dev of a sandbox at `dev`: a handful of character devices and a devpts of its own, never the host's. */
export function devOps(dev: string): string[] {
  const lines = [mount('tmpfs', dev, 'tmpfs', 'nosuid,strictatime', 'size=64k,mode=755,uid=@root,gid=@root')];
  for (const dir of ['pts', 'shm', 'mqueue', 'net']) lines.push(...ownDir(path.join(dev, dir)));
  for (const [name, major, minor] of DEVICE_NODES) lines.push(op('mknod', path.join(dev, name), 'c', major, minor, '666'));
  // the terminals' group is the sandbox's tty group (5)
  lines.push(mount('devpts', path.join(dev, 'pts'), 'devpts', 'nosuid,noexec', 'newinstance,ptmxmode=0666,mode=0620,gid=@root+5'));
  lines.push(op('symlink', 'pts/ptmx', path.join(dev, 'ptmx')));
  lines.push(mount('tmpfs', path.join(dev, 'shm'), 'tmpfs', 'nosuid,nodev,noexec', 'size=64m,mode=1777,uid=@root,gid=@root'));
  lines.push(mount('mqueue', path.join(dev, 'mqueue'), 'mqueue', 'nosuid,nodev,noexec'));
  lines.push(op('symlink', '/proc/self/fd', path.join(dev, 'fd')));
  ['stdin', 'stdout', 'stderr'].forEach((name, fd) => lines.push(op('symlink', `/proc/self/fd/${fd}`, path.join(dev, name))));
  return lines;
}

/** PID 1's part after the pivot: the learner's root, a locked mount namespace, identity and loopback. */
export function finishOps(hostname: string): string[] {
  return [
    op('become-root'),
    op('write', '/etc/hostname', '644', `${hostname}\n`),
    op('write', '/etc/hosts', '644', `127.0.0.1\tlocalhost\n127.0.1.1\t${hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`),
    op('lock'),
    op('hostname', hostname),
    op('loopback'),
  ];
}

/** The per-user-namespace limits, as the "namespaces" operation takes them. */
export function limitsField(): string {
  return Object.entries(userNamespaceLimits()).map(([k, v]) => `${k}=${v}`).join(',');
}

export function buildSpec(input: SpecInput): string {
  const { cgroups, limits } = input;
  const root = path.join(input.stage, 'root');
  const at = (p: string) => path.join(root, p);
  const dirs = cgroups.trees.map((t) => t.dirs);
  const lines: string[] = [...(input.preamble ?? [])];

  lines.push(op('lease', input.leases, IDS.first, IDS.blocks, IDS.size));
  for (const d of dirs) {
    if (d.hierarchy.version === 2 && cgroups.version === 1) continue; // the unified hierarchy of a hybrid host carries no controller
    lines.push(...delegationOps(d.nsRoot, d.leaf, d.hierarchy.version));
  }
  if (cgroups.deviceFilterDir) lines.push(op('devfilter', cgroups.deviceFilterDir));
  // what the shim ends, frozen or not, when the sandbox is stopped
  lines.push(op('teardown', ...dirs.flatMap((d) => [d.nsRoot, d.checks])));
  // a mount namespace of the shim's own, and the stage, where its work shows nowhere else
  lines.push(op('unshare-mnt'));
  lines.push(mount('', '/', '', 'rec,private'));
  lines.push(mount('tmpfs', input.stage, 'tmpfs', 'nosuid,nodev', `size=${limits.diskBytes},mode=755`));
  // a proc whose /sys/user is writable, for the outer user namespace's limits (a container's /proc/sys is read-only)
  lines.push(op('mkdir', path.join(input.stage, 'proc'), '755'));
  lines.push(mount('proc', path.join(input.stage, 'proc'), 'proc', 'nosuid,nodev,noexec'));
  lines.push(op('sysctl-proc', path.join(input.stage, 'proc')));
  // the sandbox's user, network, UTS, IPC and cgroup namespaces; the cgroup namespace's root is the learner's tree
  lines.push(op('namespaces', limitsField(), ...dirs.map((d) => path.join(d.nsRoot, 'cgroup.procs'))));
  // a PID namespace for the init to come (the holders above must not be its first process)
  lines.push(op('unshare-pid'));

  // the root filesystem: the shared rootfs, idmapped, under a writable layer on the size-limited stage
  lines.push(...ownDir(path.join(input.stage, 'upper')));
  for (const dir of ['work', 'root', 'lower']) lines.push(op('mkdir', path.join(input.stage, dir), '755'));
  lines.push(op('mount-idmapped', input.rootfs, path.join(input.stage, 'lower')));
  // relative layer paths: the sandbox's mount table shows no path of the host. No nodev: the
  // learner's mount namespace locks every flag it is given, and runc (1.1, Debian's) remounts a
  // read-only bind of a root file (docker run --init) without carrying a locked nodev over, so it
  // would fail; device files are walled by the devices cgroup or filter and the user namespace
  lines.push(op('chdir', input.stage));
  lines.push(mount('overlay', root, 'overlay', '', 'lowerdir=lower,upperdir=upper,workdir=work'));
  lines.push(op('chdir', '/'));

  lines.push(...devOps(at('dev')));

  // /sys of the sandbox's network namespace, read-only; the sandbox's cgroups at /sys/fs/cgroup
  lines.push(mount('sysfs', at('sys'), 'sysfs', 'ro,nosuid,nodev,noexec'));
  const cg = at('sys/fs/cgroup');
  if (cgroups.version === 2) {
    lines.push(mount('cgroup2', cg, 'cgroup2', 'nosuid,nodev,noexec'));
  } else {
    lines.push(mount('tmpfs', cg, 'tmpfs', 'nosuid,nodev,noexec', 'size=64k,mode=755'));
    for (const { name, hierarchy: h } of cgroups.trees) {
      lines.push(op('mkdir', path.join(cg, name), '755'));
      if (h.version === 2) lines.push(mount('cgroup2', path.join(cg, name), 'cgroup2', 'nosuid,nodev,noexec'));
      else lines.push(mount('cgroup', path.join(cg, name), 'cgroup', 'nosuid,nodev,noexec', h.mountOptions));
    }
    for (const [name, target] of Object.entries(cgroups.links)) lines.push(op('symlink', target, path.join(cg, name)));
    // v1 has no cgroup.max.descendants: the shim keeps the learner's cgroups within bounds
    lines.push(op('guard', KERNEL_OBJECT_LIMITS.cgroups, KERNEL_OBJECT_LIMITS.cgroupDepth, ...dirs.filter((d) => d.hierarchy.version === 1).map((d) => d.nsRoot)));
  }

  // scratch space: /tmp is a filesystem of its own (an overlay's upper dir cannot be on an overlay)
  lines.push(mount('tmpfs', at('tmp'), 'tmpfs', 'nosuid,nodev', `size=${limits.tmpBytes},mode=1777,uid=@root,gid=@root`));
  lines.push(mount('tmpfs', at('run'), 'tmpfs', 'nosuid,nodev', 'size=64m,mode=755,uid=@root,gid=@root'));
  // a container engine's storage (dockerd's overlay2 layers) on a filesystem that can hold an upper layer
  lines.push(mount('tmpfs', at('var/lib/docker'), 'tmpfs', '', `size=${limits.diskBytes},mode=710,uid=@root,gid=@root`));

  // the shim goes back to the host's cgroup namespace (its /sys/fs/cgroup above is the sandbox's), so that
  // PID 1 starts there: nsdelegate (v2 as systemd mounts it) lets a process move only between cgroups its
  // own cgroup namespace sees, and PID 1 comes from the shim's cgroup, outside the sandbox's
  lines.push(op('cgroupns', 'host'));
  lines.push(op('fork-init'));
  // PID 1: in the learner's cgroup, then its cgroup namespace, its own /proc, the pivot (in a mount
  // namespace of its own: the shim keeps the host's), then the learner's root
  lines.push(op('unshare-mnt'));
  for (const d of dirs) lines.push(op('join', path.join(d.leaf, 'cgroup.procs')));
  lines.push(op('cgroupns', 'sandbox'));
  if (cgroups.version === 2) {
    for (const d of dirs) lines.push(op('echo', path.join(d.nsRoot, 'cgroup.subtree_control'), cgroups.subtreeControl));
  }
  lines.push(mount('proc', at('proc'), 'proc', 'nosuid,nodev,noexec'));
  lines.push(op('pivot', root));
  lines.push(...finishOps(input.hostname));
  return lines.join('\n') + '\n';
}
