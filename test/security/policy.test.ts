// One security policy for both drivers (server/sandbox/policy.ts): a
// sandbox of either refuses the same things, exactly what the policy says.
import { arch } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ABSENT_SYSCALLS, DENIED_SYSCALLS, DROPPED_CAPABILITIES } from '../../server/sandbox/policy.js';
import { DRIVERS, makeDriver, type TestDriver } from '../helpers/drivers.js';

// capabilities(7) and the x86_64 system call table, for the names the policy uses
const CAP_NUMBERS: Record<string, number> = {
  DAC_READ_SEARCH: 2, LINUX_IMMUTABLE: 9, SYS_MODULE: 16, SYS_RAWIO: 17, SYS_PACCT: 20, SYS_BOOT: 22, SYS_TIME: 25,
  SYS_TTY_CONFIG: 26, LEASE: 28, AUDIT_CONTROL: 30, MAC_OVERRIDE: 32, MAC_ADMIN: 33, SYSLOG: 34,
  WAKE_ALARM: 35, BLOCK_SUSPEND: 36, AUDIT_READ: 37, PERFMON: 38, BPF: 39, CHECKPOINT_RESTORE: 40,
};
const SYSCALLS_X86_64: Record<string, number> = {
  bpf: 321, perf_event_open: 298, add_key: 248, keyctl: 250, request_key: 249, kexec_load: 246, kexec_file_load: 320,
  init_module: 175, finit_module: 313, delete_module: 176, open_by_handle_at: 304, swapon: 167, swapoff: 168, syslog: 103,
  acct: 163, settimeofday: 164, clock_settime: 227, clock_adjtime: 305, adjtimex: 159, userfaultfd: 323, quotactl: 179,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, iopl: 172, ioperm: 173, lookup_dcookie: 212,
};

// What a learner's root finds out about their own walls, one line each
const PROBE = `
grep -E '^(CapBnd|Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\\t ' ' '
echo "uid_map" $(cat /proc/self/uid_map)
python3 - ${Object.values(SYSCALLS_X86_64).join(' ')} <<'PY'
import ctypes, errno, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
for nr in map(int, sys.argv[1:]):
    # every argument zero: harmless whatever the call; a refusal says EPERM, an absent call ENOSYS
    ctypes.set_errno(0)
    rc = libc.syscall(nr, 0, 0, 0, 0, 0, 0)
    e = ctypes.get_errno()
    print("syscall", nr, errno.errorcode[e] if rc == -1 and e in (errno.EPERM, errno.ENOSYS) else "not refused (%d, %s)" % (rc, errno.errorcode.get(e, e)))
PY
mknod /tmp/b b 8 0 2>/dev/null && echo "mknod block: made" || echo "mknod block: refused"
mknod /tmp/c c 1 1 2>/dev/null && echo "mknod char: made" || echo "mknod char: refused"
mkdir -p /mnt/k; for fs in debugfs tracefs securityfs bpf; do mount -t $fs none /mnt/k 2>/dev/null && { echo "mount $fs: mounted"; umount /mnt/k; } || echo "mount $fs: refused"; done
unshare -pf --mount-proc sh -c 'v=$(cat /proc/sys/kernel/core_pattern); echo "$v" > /proc/sys/kernel/core_pattern 2>/dev/null && echo "core_pattern: written" || echo "core_pattern: refused"'
`;

const found: Record<string, string[]> = {};

describe.each(DRIVERS)('%s driver', (name) => {
  let t: TestDriver;

  beforeAll(async () => {
    t = await makeDriver(name, 'policy');
  });

  afterAll(async () => {
    await t.close();
    expect(await t.leftovers()).toEqual([]);
  });

  it.skipIf(arch() !== 'x64')('gives the learner\'s root exactly the policy\'s walls', async () => {
    const box = await t.driver.create();
    const r = await t.driver.exec(box.id, ['bash', '-c', PROBE], { timeoutMs: 20_000 });
    const lines = r.stdout.trim().split('\n');
    found[name] = lines;
    const bnd = BigInt('0x' + lines.find((l) => l.startsWith('CapBnd:'))!.split(' ')[1]);
    for (const cap of DROPPED_CAPABILITIES) expect([cap, (bnd >> BigInt(CAP_NUMBERS[cap]!)) & 1n]).toEqual([cap, 0n]);
    // what lessons need stays: SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SETUID
    for (const bit of [21, 12, 19, 7]) expect((bnd >> BigInt(bit)) & 1n).toBe(1n);
    expect(lines).toContain('Seccomp: 2');
    expect(lines).toContain('uid_map 0 0 65535');
    for (const call of DENIED_SYSCALLS) expect(lines).toContain(`syscall ${SYSCALLS_X86_64[call]} EPERM`);
    // the keyrings answer as on a kernel without them, which container runtimes in the sandbox accept
    for (const call of ABSENT_SYSCALLS) expect(lines).toContain(`syscall ${SYSCALLS_X86_64[call]} ENOSYS`);
    expect(lines).toEqual(expect.arrayContaining(['mknod block: refused', 'mknod char: refused', 'mount debugfs: refused', 'mount bpf: refused', 'core_pattern: refused']));
  });
});

it.skipIf(DRIVERS.length < 2 || arch() !== 'x64')('finds the same walls in a sandbox of either driver', () => {
  expect(found.docker).toEqual(found.namespaces);
});
