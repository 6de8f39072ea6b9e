// What a docker-driver sandbox is: the container the engine creates, what it
// is granted and what it is not. The sandbox itself is finished inside by
// init.sh (root filesystem, /dev, /proc, cgroups), so that both drivers give
// the learner the same machine.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { PACKAGE_ROOT } from '../../paths.js';
import { SANDBOX_ENV, type SandboxInfo, type SandboxLimits } from '../driver.js';
import { ROOTFS_LOWER, ROOTFS_MOUNT } from './rootfs-volume.js';

const SCRIPTS = path.join(PACKAGE_ROOT, 'server', 'sandbox', 'docker');
const script = (name: string) => readFileSync(path.join(SCRIPTS, name), 'utf8');
/** PID 1 of every sandbox container. */
export const INIT_SCRIPT = script('init.sh');
/** Wraps every exec and terminal. */
export const ENTER_SCRIPT = script('enter.sh');
/** Ends a session (a terminal, a timed-out command). */
export const END_SESSION_SCRIPT = script('end-session.sh');

/** Labels that mark a container as a boxlab sandbox, and whose. */
export const LABEL = {
  instance: 'boxlab.instance',
  sandbox: 'boxlab.sandbox',
  hostname: 'boxlab.hostname',
  created: 'boxlab.created',
} as const;

/**
 * Capabilities a sandbox gets (Docker's names): what the lessons need, as the
 * namespaces driver grants it: SYS_ADMIN for mounts and namespaces, NET_ADMIN
 * and NET_RAW for veth pairs, bridges, iptables and ping, MKNOD, SETPCAP and
 * SETFCAP for capsh and setcap, SYS_PTRACE for nsenter, SYS_CHROOT...
 * `--privileged` would add all the rest and every host device; it fails on
 * hosts whose engine lacks a capability (CAP_SYS_RESOURCE in nested setups),
 * and the driver leaves out whichever of these the engine cannot grant.
 */
export const GRANTED_CAPS = [
  'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'SETFCAP',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER',
  'SYS_CHROOT', 'SYS_PTRACE', 'SYS_ADMIN', 'SYS_NICE', 'SYS_RESOURCE', 'MKNOD', 'AUDIT_WRITE',
];
// Withheld, as by the namespaces driver (native/boxlab-sandbox.c): what reaches
// past the sandbox: DAC_READ_SEARCH (open_by_handle_at, the "shocker" escape),
// SYS_MODULE, SYS_RAWIO, SYS_TIME, SYSLOG, SYS_BOOT, SYS_PACCT, SYS_TTY_CONFIG,
// LINUX_IMMUTABLE, LEASE, WAKE_ALARM, BLOCK_SUSPEND, AUDIT_CONTROL, AUDIT_READ,
// MAC_ADMIN, MAC_OVERRIDE, PERFMON, BPF, CHECKPOINT_RESTORE.

/**
 * The seccomp profile: everything allowed (Docker's default profile refuses
 * much that lessons do) except the system calls the namespaces driver refuses
 * too (bpf, perf, the kernel keyring, io_uring, modules, kexec, the clock...)
 * and mknod of block devices. Unlisted architectures (x32, i386 calls) are
 * refused by the runtime.
 */
export function seccompProfile(): string {
  const EPERM = 1;
  const S_IFMT = 0o170000;
  const S_IFBLK = 0o060000;
  const denied = [
    'bpf', 'perf_event_open', 'add_key', 'keyctl', 'request_key', 'kexec_load', 'kexec_file_load',
    'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'swapon', 'swapoff', 'syslog',
    'acct', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'userfaultfd', 'quotactl',
    'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'iopl', 'ioperm', 'lookup_dcookie',
  ];
  const blockDevice = (index: number) => ({
    names: [index === 1 ? 'mknod' : 'mknodat'],
    action: 'SCMP_ACT_ERRNO',
    errnoRet: EPERM,
    args: [{ index, value: S_IFMT, valueTwo: S_IFBLK, op: 'SCMP_CMP_MASKED_EQ' }],
  });
  return JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: denied, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM }, blockDevice(1), blockDevice(2)],
  });
}

export interface ContainerSpecInput {
  info: SandboxInfo;
  instance: string;
  image: string;
  limits: SandboxLimits;
  caps: string[];
  /** The volume holding the image's tree (rootfs-volume.ts). */
  rootfsVolume: string;
}

export function containerName(instance: string, id: string): string {
  return `${instance}-${id}`;
}

export function containerSpec({ info, instance, image, limits, caps, rootfsVolume }: ContainerSpecInput): Docker.ContainerCreateOptions {
  return {
    name: containerName(instance, info.id),
    Image: image,
    Hostname: info.hostname,
    Entrypoint: ['sh', '-c', INIT_SCRIPT, 'boxlab-init'],
    Cmd: [String(limits.diskBytes), String(limits.tmpBytes), info.hostname, ROOTFS_LOWER],
    Env: Object.entries(SANDBOX_ENV).map(([k, v]) => `${k}=${v}`),
    WorkingDir: '/root',
    Labels: {
      [LABEL.instance]: instance,
      [LABEL.sandbox]: info.id,
      [LABEL.hostname]: info.hostname,
      [LABEL.created]: String(info.createdAt),
    },
    AttachStdout: true,
    AttachStderr: true,
    HostConfig: {
      // a cgroup namespace of its own, so init.sh can give the learner cgroups below the limits
      // (CgroupnsMode, API 1.41, is missing from @types/dockerode)
      ...({ CgroupnsMode: 'private' } as Docker.HostConfig),
      // its own network namespace with only lo: no route off the machine
      NetworkMode: 'none',
      // exactly these capabilities, whatever the engine's defaults
      CapDrop: ['ALL'],
      CapAdd: caps,
      // AppArmor's docker-default profile refuses mount; none where AppArmor is absent
      SecurityOpt: [`seccomp=${seccompProfile()}`, 'apparmor=unconfined'],
      IpcMode: 'private',
      Memory: limits.memoryBytes,
      MemorySwap: limits.memoryBytes, // no swap
      PidsLimit: limits.pids,
      NanoCpus: Math.round(limits.cpus * 1e9),
      // what a learner writes to PID 1's output must not fill the engine's disk
      LogConfig: { Type: 'none', Config: {} },
      Mounts: [{ Type: 'volume', Source: rootfsVolume, Target: ROOTFS_MOUNT, ReadOnly: true }],
      RestartPolicy: { Name: 'no' },
      Init: false,
    },
  };
}

/** The command line of an exec: `argv` wrapped by enter.sh. */
export function execCommand(argv: string[], size?: { cols: number; rows: number }): string[] {
  return ['sh', '-c', ENTER_SCRIPT, 'boxlab-exec', size ? `${size.cols}x${size.rows}` : '-', ...argv];
}

export function endSessionCommand(sid: number, graceMs: number): string[] {
  return ['sh', '-c', END_SESSION_SCRIPT, 'boxlab-end', String(sid), String(Math.max(0, Math.round(graceMs)))];
}
