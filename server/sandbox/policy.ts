// The security policy of every sandbox, as data, one place for both drivers:
// the native helper applies it to every process it starts in a sandbox (the
// build turns this module into native/policy.h), and the docker driver gives
// it to the engine as the container's outer wall (docker/spec.ts).
//
// The learner is root in a user namespace of the sandbox's own, mapped onto
// host ids no other sandbox shares, so the kernel itself refuses what belongs
// to the host (its settings, devices, modules, mounts it made). What follows
// narrows that root further to what the lessons need.

/**
 * Capabilities taken from the bounding set of every sandbox process (names as
 * in capabilities(7), without CAP_). Inside its user namespace the learner
 * keeps the rest: SYS_ADMIN for mounts and namespaces, NET_ADMIN and NET_RAW
 * for veth pairs, bridges, iptables and ping, SETUID/SETGID/SETFCAP for user
 * namespaces and setcap, SYS_PTRACE for nsenter and strace, SYS_CHROOT...
 * These go: each either reaches the host kernel itself or no lesson needs it.
 */
export const DROPPED_CAPABILITIES = [
  'DAC_READ_SEARCH', // open_by_handle_at, the "shocker" escape
  'LINUX_IMMUTABLE',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_PACCT',
  'SYS_BOOT',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'LEASE',
  'AUDIT_CONTROL',
  'AUDIT_READ',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/**
 * System calls refused with EPERM. A user namespace already keeps most of them
 * from the host's objects; the filter keeps their code out of reach too (bpf,
 * perf, io_uring and the keyring have been the way in for many kernel
 * exploits), and none is needed by a lesson.
 */
export const DENIED_SYSCALLS = [
  'bpf', 'perf_event_open', 'kexec_load', 'kexec_file_load',
  'init_module', 'finit_module', 'delete_module', 'open_by_handle_at', 'swapon', 'swapoff', 'syslog',
  'acct', 'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'userfaultfd', 'quotactl',
  'io_uring_setup', 'io_uring_enter', 'io_uring_register', 'iopl', 'ioperm', 'lookup_dcookie',
] as const;

/**
 * System calls that answer ENOSYS, as on a kernel built without them: the
 * keyrings, which are not namespaced (one user's keys for every namespace).
 * ENOSYS, not EPERM, because a container runtime in the sandbox (runc, crun)
 * joins a session keyring for each container it starts, takes ENOSYS for "no
 * keyrings here" and goes on, and takes EPERM as a failure to start; LXC
 * answers the same way for the same reason.
 */
export const ABSENT_SYSCALLS = ['add_key', 'keyctl', 'request_key'] as const;

/** The device nodes of a sandbox's /dev (made by the host, on a tmpfs of its own). */
export const DEVICE_NODES: ReadonlyArray<readonly [name: string, major: number, minor: number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
  ['net/tun', 10, 200],
];

/**
 * The character devices a sandbox may open: its nodes, its devpts's ptmx and
 * terminals. Nothing else, and never a block device (devices cgroup on v1, a
 * BPF device filter on v2; a user namespace cannot make device nodes at all).
 */
export const ALLOWED_DEVICES: ReadonlyArray<readonly [major: number, minor: number | '*']> = [
  ...DEVICE_NODES.map(([, major, minor]) => [major, minor] as const),
  [5, 2],
  ...[136, 137, 138, 139, 140, 141, 142, 143].map((major) => [major, '*'] as const),
];

/**
 * Kernel objects a sandbox may hold at once beyond its own. Their memory is
 * the host's, not the sandbox's (the memory limit does not cover a cgroup or
 * a namespace), so they are bounded by count: cgroups by cgroup v2's
 * cgroup.max.descendants and cgroup.max.depth (on v1, which has no such limit,
 * the helper removes what goes past them as soon as it appears), namespaces by
 * the per-user-namespace limits of the sandbox's outer user namespace
 * (/proc/sys/user/max_*), which the learner cannot change.
 */
export const KERNEL_OBJECT_LIMITS = {
  cgroups: 64,
  cgroupDepth: 8,
  userNamespaces: 16,
  netNamespaces: 32,
  mntNamespaces: 64,
  pidNamespaces: 32,
  utsNamespaces: 32,
  ipcNamespaces: 32,
  cgroupNamespaces: 32,
  timeNamespaces: 32,
  inotifyInstances: 128,
  inotifyWatches: 16384,
} as const;

/** The /proc/sys/user settings that carry KERNEL_OBJECT_LIMITS, counted in the outer user namespace. */
export function userNamespaceLimits(): Record<string, number> {
  const l = KERNEL_OBJECT_LIMITS;
  // the sandbox's own namespaces made inside it count there too (its PID namespace is host root's)
  return {
    max_user_namespaces: l.userNamespaces + 1,
    max_net_namespaces: l.netNamespaces + 1,
    max_mnt_namespaces: l.mntNamespaces + 1,
    max_pid_namespaces: l.pidNamespaces,
    max_uts_namespaces: l.utsNamespaces + 1,
    max_ipc_namespaces: l.ipcNamespaces + 1,
    max_cgroup_namespaces: l.cgroupNamespaces + 1,
    max_time_namespaces: l.timeNamespaces,
    max_inotify_instances: l.inotifyInstances,
    max_inotify_watches: l.inotifyWatches,
  };
}

/**
 * Host ids for sandboxes. Each sandbox leases one block of IDS.size ids: its
 * outer user namespace maps them all; the learner's root is the block's first
 * id, and the last stays the checker's, which no learner process can become.
 * The blocks start above systemd's range for containers (0x80000-0x6FFFFFFF)
 * and below 2^31, so that no tool reading ids as signed numbers trips.
 */
export const IDS = { first: 0x70000000, size: 65536, blocks: 4094 } as const;

/** Ids inside a sandbox: the learner's user namespace maps 0..size-2 identically onto the outer one. */
export const LEARNER_IDS = IDS.size - 1;
/** The checker's uid and gid in the outer user namespace: unmapped in the learner's. */
export const CHECKER_ID = IDS.size - 1;
