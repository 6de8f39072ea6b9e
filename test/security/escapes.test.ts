// The classic escapes from a privileged container, tried by a learner through
// a real terminal of a real server. Each test proves a wall by the refusal and
// never changes the host even where the wall is missing: a setting is written
// with the value it already has, a filesystem is only mounted, a device only
// read.
import { execFileSync, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { attacker, hostFile, hostNamespaces, type Shell } from './attacker.js';

let server: TestServer;
const shells: Shell[] = [];

beforeAll(async () => {
  server = await startTestServer('escapes');
});

// a sandbox per attack, ended after it: the host's memory holds only so many at once
afterEach(async () => {
  for (const s of shells.splice(0)) {
    s.close();
    await s.learner.fetch(`/api/sandboxes/${s.sandbox.id}`, { method: 'DELETE' });
  }
});

afterAll(async () => {
  for (const s of shells) s.close();
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

async function learner(): Promise<Shell> {
  const shell = await attacker(server);
  shells.push(shell);
  return shell;
}

/** Writes a file's own content back to it: WRITTEN if the kernel let it, else REFUSED. Changes nothing either way. */
const rewrite = (file: string) => `
  f=${file}
  if [ ! -e "$f" ]; then echo "REFUSED (absent)"
  elif v=$(cat "$f" 2>/dev/null) && printf '%s\\n' "$v" > "$f" 2>/dev/null; then echo WRITTEN
  else echo REFUSED; fi`;

describe('kernel settings of the host (/proc/sys/kernel)', () => {
  // core_pattern "|program" runs a program as root in the host's namespaces; modprobe
  // names the program the kernel runs as root to load a module
  const routes: Array<[string, (setting: string) => string]> = [
    ['written directly', (k) => rewrite(`/proc/sys/kernel/${k}`)],
    ['after remounting /proc/sys read-write', (k) => `mount -o remount,bind,rw /proc/sys 2>&1; ${rewrite(`/proc/sys/kernel/${k}`)}`],
    ['after unmounting what covers /proc/sys', (k) => `umount /proc/sys/net 2>&1; umount /proc/sys 2>&1; ${rewrite(`/proc/sys/kernel/${k}`)}`],
    ['through a fresh proc mount', (k) => `mkdir -p /mnt/p; mount -t proc proc /mnt/p 2>&1; ${rewrite(`/mnt/p/sys/kernel/${k}`)}`],
    ['through the proc of a new PID namespace', (k) => `unshare --pid --fork --mount --mount-proc bash -c '${rewrite(`/proc/sys/kernel/${k}`).replace(/'/g, "'\\''")}'`],
  ];
  for (const setting of ['core_pattern', 'modprobe']) {
    it.each(routes)(`refuses ${setting} %s`, async (_how, script) => {
      const before = hostFile(`/proc/sys/kernel/${setting}`);
      const r = await (await learner()).run(script(setting));
      expect(r.output).toMatch(/REFUSED/);
      expect(r.output).not.toMatch(/WRITTEN/);
      expect(hostFile(`/proc/sys/kernel/${setting}`)).toBe(before);
    });
  }

  it('refuses the magic SysRq key and /proc/kcore', async () => {
    const r = await (await learner()).run(`
      ${rewrite('/proc/sys/kernel/sysrq')}
      if [ -e /proc/sysrq-trigger ] && printf '' > /proc/sysrq-trigger 2>/dev/null; then echo TRIGGER-OPEN; else echo REFUSED; fi
      if head -c 16 /proc/kcore >/dev/null 2>&1; then echo KCORE-READ; else echo REFUSED; fi`);
    expect(r.output.split('\n').filter((l) => l.startsWith('REFUSED'))).toHaveLength(3);
  });
});

describe('the host\'s sysfs', () => {
  // uevent_helper is run as root by the kernel on every device event (where the kernel has it);
  // a CPU's online switch stands for every other setting of the machine's devices
  const cpu = '/sys/devices/system/cpu/cpu1/online';
  it.each([
    ['written directly', `${rewrite('/sys/kernel/uevent_helper')}; ${rewrite(cpu)}`],
    ['after remounting /sys read-write', `mount -o remount,rw /sys 2>&1; mount -o remount,bind,rw /sys 2>&1; ${rewrite('/sys/kernel/uevent_helper')}; ${rewrite(cpu)}`],
    ['through a fresh sysfs mount', `mkdir -p /mnt/s; mount -t sysfs sysfs /mnt/s 2>&1; mount -o remount,rw /mnt/s 2>&1; ${rewrite('/mnt/s/kernel/uevent_helper')}; ${rewrite(cpu.replace('/sys', '/mnt/s'))}`],
  ])('refuses uevent_helper and a CPU\'s online switch %s', async (_how, script) => {
    const before = hostFile(cpu);
    const r = await (await learner()).run(script);
    expect(r.output).toMatch(/REFUSED/);
    expect(r.output).not.toMatch(/WRITTEN/);
    expect(hostFile(cpu)).toBe(before);
  });
});

describe('kernel filesystems', () => {
  // debugfs's sched/debug lists the host's processes; tracefs traces the whole kernel;
  // bpffs pins programs; securityfs holds the LSM policies; pstore the crash logs
  it.each(['debugfs', 'tracefs', 'securityfs', 'bpf', 'pstore', 'configfs'])('refuses to mount %s', async (fstype) => {
    const r = await (await learner()).run(`mkdir -p /mnt/k; if mount -t ${fstype} none /mnt/k 2>/dev/null; then echo MOUNTED; ls /mnt/k | head -3; else echo REFUSED; fi`);
    expect(r.output).toMatch(/^REFUSED$/);
  });

  it('gives binfmt_misc only an instance of the sandbox\'s own, never the host\'s', async () => {
    // the host's instance, held mounted in a scratch mount namespace of the test's own while
    // the learner mounts theirs: one superblock (one st_dev) means one instance
    const host = spawn('unshare', ['-m', 'sh', '-c', 'mount -t binfmt_misc none /mnt && stat -c %d /mnt/status && exec sleep 60'], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const hostDev = await new Promise<string>((resolve) => host.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
      const r = await (await learner()).run('mkdir -p /mnt/b; if mount -t binfmt_misc none /mnt/b 2>/dev/null; then echo "DEV $(stat -c %d /mnt/b/status)"; else echo REFUSED; fi');
      const dev = /DEV (\d+)/.exec(r.output)?.[1];
      if (dev) expect(dev).not.toBe(hostDev);
      else expect(r.output).toMatch(/REFUSED/);
    } finally {
      host.kill('SIGKILL');
    }
  });

  it('reaches no cgroup release_agent', async () => {
    // release_agent, in a v1 hierarchy's root, names a program the kernel runs as host root
    const r = await (await learner()).run(`
      try() { ${rewrite('"$1"').trim().replace(/\n\s*/g, '; ').replace(/^f=[^;]*; /, 'f=$1; ')}; }
      for c in $(awk 'NR > 1 && $4 == 1 { print $1 }' /proc/cgroups); do
        mkdir -p /mnt/c; mount -t cgroup -o $c cgroup /mnt/c 2>/dev/null || continue
        [ -e /mnt/c/release_agent ] && echo "$c: $(try /mnt/c/release_agent)"
        umount /mnt/c
      done
      for f in $(find /sys/fs/cgroup -maxdepth 2 -name release_agent 2>/dev/null); do echo "$f: $(try "$f")"; done
      echo end`);
    expect(r.output).toMatch(/end$/);
    expect(r.output).not.toMatch(/WRITTEN/);
  });
});

describe('devices', () => {
  const rootDisk = (() => {
    const dev = statSync('/').dev;
    return `${Math.floor(dev / 256)} ${dev % 256}`;
  })();

  it.each([
    ['/dev/mem', 'c 1 1'],
    ['/dev/kmem', 'c 1 2'],
    ['/dev/port', 'c 1 4'],
    ['/dev/kmsg', 'c 1 11'],
    ['the host\'s root disk', `b ${rootDisk}`],
    ['/dev/kvm', 'c 10 232'],
  ])('refuses to open %s', async (_name, node) => {
    const r = await (await learner()).run(`
      mknod /tmp/dev ${node} 2>/dev/null && echo MADE
      if [ -e /tmp/dev ] && head -c 1 /tmp/dev >/dev/null 2>&1; then echo OPENED; else echo REFUSED; fi`);
    expect(r.output).toMatch(/REFUSED/);
    expect(r.output).not.toMatch(/OPENED/);
  });
});

describe('system calls that reach the host kernel', () => {
  // each called with harmless arguments: a refusal says EPERM, a missing wall another errno or success
  const calls: Array<[string, string]> = [
    ['open_by_handle_at (the "shocker" escape)', 'libc.syscall(304, -100, ctypes.c_char_p(b"\\x08\\0\\0\\0\\x01\\0\\0\\0\\x02\\0\\0\\0\\0\\0\\0\\0"), 0)'],
    ['init_module', 'libc.syscall(175, None, 0, b"")'],
    ['finit_module', 'libc.syscall(313, -1, b"", 0)'],
    ['delete_module', 'libc.syscall(176, b"boxlab_none", 0)'],
    ['bpf', 'libc.syscall(321, 0, None, 0)'],
    ['perf_event_open on every CPU', 'libc.syscall(298, ctypes.c_char_p(b"\\0" * 128), -1, 0, -1, 0)'],
    ['keyctl on the host root\'s user keyring', 'libc.syscall(250, 0, -4, 0)'],
    ['io_uring_setup', 'libc.syscall(425, 1, ctypes.c_char_p(b"\\0" * 120))'],
    ['syslog (the kernel log)', 'libc.syscall(103, 3, ctypes.create_string_buffer(64), 64)'],
    ['kexec_load', 'libc.syscall(246, 0, 0, None, 0)'],
    ['iopl', 'libc.syscall(172, 3)'],
    ['swapon', 'libc.syscall(167, b"/nonexistent", 0)'],
    ['settimeofday', 'libc.syscall(164, None, None)'],
    ['reboot', 'libc.syscall(169, 0xfee1dead, 672274793, 0x4321FEDC, None)'],
  ];
  it.each(calls)('refuses %s', async (_name, call) => {
    const r = await (await learner()).run(`python3 - <<'PY'
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
rc = ${call}
e = ctypes.get_errno()
# the keyrings answer ENOSYS, as on a kernel without them (policy.ts: ABSENT_SYSCALLS)
print("EPERM" if rc == -1 and e in (errno.EPERM, errno.EACCES, errno.ENOSYS) else "ALLOWED rc=%d errno=%s" % (rc, errno.errorcode.get(e, e)))
PY`);
    expect(r.output).toBe('EPERM');
  });

  it('refuses to read the kernel log with dmesg', async () => {
    const r = await (await learner()).run('dmesg >/dev/null 2>&1 && echo READ || echo REFUSED');
    expect(r.output).toBe('REFUSED');
  });
});

describe('the network', () => {
  it('has no interface but loopback and no route off the machine', async () => {
    // nothing is sent: `ip route get` only consults the routing table
    const r = await (await learner()).run('ip -o link | awk -F": " \'{print $2}\'; ip route get 192.0.2.1 2>&1; ip -6 route get 2001:db8::1 2>&1');
    expect(r.output.split('\n')[0]).toBe('lo');
    expect(r.output).toMatch(/Network is unreachable/);
    expect(r.output).not.toMatch(/ via |dev (?!lo)/);
  });

  it('sees only its own loopback from a raw packet socket, never the server\'s port', async () => {
    const port = new URL(server.url).port;
    const r = await (await learner()).run(`
      python3 -c 'import socket; s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); print("links", *[n for _, n in socket.if_nameindex()])'
      curl -s -m 2 -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:${port}/healthz || echo UNREACHABLE`);
    expect(r.output).toMatch(/^links lo$/m);
    expect(r.output).toMatch(/UNREACHABLE/);
  });
});

describe('processes and namespaces', () => {
  it('shares no namespace with the host', async () => {
    const host = await hostNamespaces();
    const r = await (await learner()).run('for p in /proc/[0-9]*; do for n in user mnt net pid uts ipc cgroup; do echo "${p#/proc/} $n $(readlink $p/ns/$n)"; done; done 2>/dev/null');
    const shared = r.output.split('\n').filter((l) => {
      const [, ns, link] = l.split(' ');
      return ns && link && host[ns] === link;
    });
    expect(shared).toEqual([]);
  });

  it('sees none of the host\'s processes and cannot signal the server', async () => {
    const r = await (await learner()).run(`
      ps -eo pid,args | grep -E 'node|vitest|boxlab-sandbox|/dist/' | grep -v grep || echo NONE
      kill -0 ${process.pid} 2>/dev/null && [ "$(cat /proc/${process.pid}/comm 2>/dev/null)" = node ] && echo SIGNALLED || echo REFUSED`);
    expect(r.output).toMatch(/^NONE$/m);
    expect(r.output).toMatch(/REFUSED/);
  });

  it('stays inside after the double-chroot escape and nsenter into PID 1', async () => {
    const canary = `/tmp/boxlab-canary-${process.pid}`;
    execFileSync('sh', ['-c', `echo host > ${canary}`]);
    try {
      const r = await (await learner()).run(`
        mkdir -p /tmp/jail && cd /tmp/jail
        python3 -c '
import os
os.mkdir("inner") if not os.path.exists("inner") else None
fd = os.open(".", os.O_RDONLY)
os.chroot("inner")
os.fchdir(fd)
for _ in range(64): os.chdir("..")
os.chroot(".")
print("ESCAPED" if os.path.exists("${canary}") else "INSIDE")'
        nsenter -t 1 -m -u -i -n -p test -e ${canary} 2>/dev/null && echo ESCAPED || echo INSIDE`);
      expect(r.output.split('\n')).toEqual(['INSIDE', 'INSIDE']);
    } finally {
      execFileSync('rm', ['-f', canary]);
    }
  });
});

describe('the root filesystem', () => {
  it('keeps what a learner writes to the root in their own sandbox, never the shared copy', async () => {
    const [a, b] = [await learner(), await learner()];
    const r = await a.run('echo pwned >> /usr/bin/whoami && echo pwned >> /etc/passwd && touch /usr/lib/boxlab-pwned && echo WROTE');
    expect(r.output).toBe('WROTE');
    const other = await b.run('grep -c pwned /usr/bin/whoami /etc/passwd; ls /usr/lib/boxlab-pwned 2>&1 | grep -c "No such"');
    expect(other.output.split('\n')).toEqual(['/usr/bin/whoami:0', '/etc/passwd:0', '1']);
  });

  it('names no path of the host in the sandbox\'s mount table', async () => {
    const r = await (await learner()).run('cat /proc/self/mountinfo');
    expect(r.output).not.toMatch(/\/var\/lib\/boxlab|\/rootfs\/|\/run\/stage|\/sys\/fs\/cgroup\/[^ ]*t-escapes/);
  });
});
