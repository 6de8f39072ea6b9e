// What a docker-driver sandbox is: a container the engine creates around the
// same sandbox the namespaces driver makes. The container's PID 1 is the
// native helper's shim, which builds the sandbox from the shared spec
// (../spec.ts) inside it: the learner's user namespaces, the idmapped
// image tree, the locked mounts, the cgroups below the container's own. So
// both drivers give the learner the same machine under the same policy
// (../policy.ts); the container is the outer wall, granted only what the
// helper needs, never the learner.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { PACKAGE_ROOT } from '../../paths.js';
import type { CgroupHost, SandboxCgroupDirs } from '../cgroups.js';
import { CHECKS_HEADROOM } from '../cgroups.js';
import { SANDBOX_ENV, type SandboxInfo, type SandboxLimits } from '../driver.js';
import { ABSENT_SYSCALLS, DENIED_SYSCALLS, KERNEL_OBJECT_LIMITS } from '../policy.js';
import { buildSpec, LEASES_DIR, mount, op, type SpecCgroups } from '../spec.js';

/** Ends the sessions of a terminal in a sandbox container (SIGHUP, then SIGKILL). */
export const END_SESSION_SCRIPT = readFileSync(path.join(PACKAGE_ROOT, 'server', 'sandbox', 'docker', 'end-session.sh'), 'utf8');

/** Where a sandbox container has the helper, the image's tree and the host's id leases. */
export const HELPER = '/.boxlab/bin/boxlab-sandbox';
export const HELPER_DIR = path.dirname(HELPER);
export const ROOTFS_VOLUME_MOUNT = '/.boxlab/rootfs-volume';
export const LEASES_MOUNT = '/.boxlab/ids';
/** The container's own cgroups, mounted writable where the helper reaches them (the engine's mount is read-only). */
const CGROUP_BASE = '/run/boxlab/cg';
const STAGE = '/run/boxlab/stage';

/** Labels that mark a container as a boxlab sandbox, and whose. */
export const LABEL = {
  instance: 'boxlab.instance',
  sandbox: 'boxlab.sandbox',
  hostname: 'boxlab.hostname',
  created: 'boxlab.created',
} as const;

/**
 * Capabilities the container gets (Docker's names): what the helper needs to
 * build the sandbox and enter it: mounts, user namespaces and their maps,
 * idmapped mounts, device nodes in the sandbox's /dev, setns into the
 * sandbox's (undumpable) init, moving processes between cpuset cgroups
 * (SYS_NICE: the kernel asks it of whoever moves a process with more
 * capabilities than their own). The learner never holds them: inside, their
 * root has the capabilities of a user namespace of its own, less the
 * policy's. The driver leaves out any the engine cannot grant.
 */
export const GRANTED_CAPS = [
  'SYS_ADMIN', 'SETUID', 'SETGID', 'SETFCAP', 'SETPCAP', 'SYS_CHROOT', 'SYS_PTRACE', 'CHOWN', 'FOWNER',
  'DAC_OVERRIDE', 'MKNOD', 'KILL', 'NET_ADMIN', 'SYS_NICE',
];

/**
 * The container's seccomp profile: the policy's refused system calls, for the
 * container's own processes too (the helper needs none of them; Docker's
 * default profile refuses much the helper does, mount and setns among them).
 */
export function seccompProfile(): string {
  return JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [
      { names: [...DENIED_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: 1 },
      { names: [...ABSENT_SYSCALLS], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }, // ENOSYS
    ],
  });
}

/**
 * The container's cgroups, as the helper finds them: each hierarchy of the
 * host (the engine runs on this host, the same kernel) mounted at
 * /run/boxlab/cg/<name>, rooted at the container's own cgroup, which holds
 * the engine's limits; the learner's tree and the checks go below it.
 */
export function containerCgroups(host: CgroupHost, links: Record<string, string>): { cgroups: SpecCgroups; preamble: string[] } {
  const preamble = [op('mkdir', '/run/boxlab', '755'), op('mkdir', CGROUP_BASE, '755')];
  const trees: SpecCgroups['trees'] = [];
  for (const hierarchy of host.hierarchies) {
    const name = path.relative(host.root, hierarchy.mountPoint);
    const base = name ? path.join(CGROUP_BASE, name) : CGROUP_BASE;
    const nsRoot = path.join(base, 'sandbox');
    const dirs: SandboxCgroupDirs = { hierarchy, limits: base, nsRoot, leaf: host.version === 2 ? path.join(nsRoot, 'init') : nsRoot, checks: path.join(base, 'checks') };
    trees.push({ name, hierarchy, dirs });
    if (name) preamble.push(op('mkdir', base, '755'));
    if (hierarchy.version === 2) preamble.push(mount('cgroup2', base, 'cgroup2', 'nosuid,nodev,noexec'));
    else preamble.push(mount('cgroup', base, 'cgroup', 'nosuid,nodev,noexec', hierarchy.mountOptions));
  }
  return { cgroups: { version: host.version, trees, links, subtreeControl: '+cpu +io +memory +pids' }, preamble };
}

/** Below the container's cgroup: the learner's tree with the learner's limits, and the checks'. */
function cgroupOps(cgroups: SpecCgroups, limits: SandboxLimits): string[] {
  const lines: string[] = [];
  for (const { hierarchy: h, dirs } of cgroups.trees) {
    const at = (dir: string, file: string) => path.join(dir, file);
    if (h.version === 2 && cgroups.version === 2) {
      // v2 lets processes sit only in leaves of a cgroup with controllers: the shim moves to one
      lines.push(op('mkdir', at(dirs.limits, 'shim'), '755'), op('join', at(dirs.limits, 'shim/cgroup.procs')));
      lines.push(op('enable-controllers', dirs.limits, 'cpu', 'io', 'memory', 'pids'));
      lines.push(op('mkdir', dirs.nsRoot, '755'), op('mkdir', dirs.leaf, '755'), op('mkdir', dirs.checks, '755'));
      lines.push(op('echo-if', at(dirs.nsRoot, 'memory.max'), limits.memoryBytes), op('echo-if', at(dirs.nsRoot, 'memory.swap.max'), 0));
      lines.push(op('echo-if', at(dirs.nsRoot, 'pids.max'), limits.pids));
      lines.push(op('echo', at(dirs.nsRoot, 'cgroup.max.descendants'), KERNEL_OBJECT_LIMITS.cgroups + 1));
      lines.push(op('echo', at(dirs.nsRoot, 'cgroup.max.depth'), KERNEL_OBJECT_LIMITS.cgroupDepth));
      continue;
    }
    // so that cgroups below work without setting cpus and mems
    if (h.controllers.includes('cpuset')) lines.push(op('echo', at(dirs.limits, 'cgroup.clone_children'), 1));
    lines.push(op('mkdir', dirs.nsRoot, '755'), op('mkdir', dirs.checks, '755'));
    if (h.controllers.includes('memory')) {
      lines.push(op('echo', at(dirs.nsRoot, 'memory.limit_in_bytes'), limits.memoryBytes));
      lines.push(op('echo-if', at(dirs.nsRoot, 'memory.memsw.limit_in_bytes'), limits.memoryBytes));
    }
    if (h.controllers.includes('pids')) lines.push(op('echo', at(dirs.nsRoot, 'pids.max'), limits.pids));
  }
  return lines;
}

/** The spec the container's PID 1 runs. */
export function sandboxSpec(info: SandboxInfo, limits: SandboxLimits, host: CgroupHost, links: Record<string, string>): string {
  const { cgroups, preamble } = containerCgroups(host, links);
  return buildSpec({
    hostname: info.hostname,
    rootfs: path.join(ROOTFS_VOLUME_MOUNT, 'rootfs'),
    stage: STAGE,
    leases: LEASES_MOUNT,
    limits,
    cgroups,
    preamble: [...preamble, ...cgroupOps(cgroups, limits), op('mkdir', STAGE, '755')],
  });
}

export interface ContainerSpecInput {
  info: SandboxInfo;
  instance: string;
  image: string;
  limits: SandboxLimits;
  caps: string[];
  spec: string;
  /** The volumes holding the image's tree and the helper (volumes.ts). */
  rootfsVolume: string;
  helperVolume: string;
}

export function containerName(instance: string, id: string): string {
  return `${instance}-${id}`;
}

export function containerSpec({ info, instance, image, limits, caps, spec, rootfsVolume, helperVolume }: ContainerSpecInput): Docker.ContainerCreateOptions {
  return {
    name: containerName(instance, info.id),
    Image: image,
    Hostname: info.hostname,
    Entrypoint: [HELPER, 'create', spec],
    Cmd: [],
    Env: [],
    WorkingDir: '/',
    Labels: {
      [LABEL.instance]: instance,
      [LABEL.sandbox]: info.id,
      [LABEL.hostname]: info.hostname,
      [LABEL.created]: String(info.createdAt),
    },
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      // a cgroup namespace of its own, rooted at the container's cgroup (CgroupnsMode, API 1.41, is missing from @types/dockerode)
      ...({ CgroupnsMode: 'private' } as Docker.HostConfig),
      // its own network namespace with only lo: no route off the machine
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: caps,
      // AppArmor's docker-default profile refuses mount; none where AppArmor is absent
      SecurityOpt: [`seccomp=${seccompProfile()}`, 'apparmor=unconfined'],
      IpcMode: 'private',
      // the learner's own limits are set one level below, leaving the checks room
      Memory: limits.memoryBytes + CHECKS_HEADROOM.memoryBytes,
      MemorySwap: limits.memoryBytes + CHECKS_HEADROOM.memoryBytes, // no swap
      PidsLimit: limits.pids + CHECKS_HEADROOM.pids,
      NanoCpus: Math.round(limits.cpus * 1e9),
      // what a learner writes to PID 1's output must not fill the engine's disk
      LogConfig: { Type: 'none', Config: {} },
      Mounts: [
        { Type: 'volume', Source: rootfsVolume, Target: ROOTFS_VOLUME_MOUNT, ReadOnly: true },
        { Type: 'volume', Source: helperVolume, Target: HELPER_DIR, ReadOnly: true },
      ],
      // the blocks of host ids are leased host-wide, with every boxlab of this host
      Binds: [`${LEASES_DIR}:${LEASES_MOUNT}`],
      RestartPolicy: { Name: 'no' },
      Init: false,
    },
  };
}

export interface ExecTarget {
  initPid: number;
  /** Per hierarchy, as the container sees them. */
  cgroups: SpecCgroups;
}

/** The command line of an exec: `argv` run in the sandbox by the helper, which first says its pid and the command's. */
export function execCommand(target: ExecTarget, argv: string[], mode: '--session' | '--pty', cwd: string, inspector = false): string[] {
  // the container dies with the init: no other process can have its pid (--expect -)
  const args = [HELPER, 'exec', '--pid', String(target.initPid), '--expect', '-', '--announce', '--cwd', cwd];
  for (const { dirs } of target.cgroups.trees) {
    if (inspector) args.push('--scope', dirs.checks);
    else args.push('--cgroup', path.join(dirs.leaf, 'cgroup.procs'));
  }
  if (inspector) args.push('--inspector');
  return [...args, mode, '--', ...argv];
}

export function endSessionCommand(sids: number[], graceMs: number): string[] {
  return ['sh', '-c', END_SESSION_SCRIPT, 'boxlab-end', String(Math.max(0, Math.round(graceMs))), ...sids.map(String)];
}

/** Environment of an exec, as the engine takes it. */
export function execEnv(env: Record<string, string> = {}): string[] {
  return Object.entries({ ...SANDBOX_ENV, ...env }).map(([k, v]) => `${k}=${v}`);
}
