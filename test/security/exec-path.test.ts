// The way into a sandbox: every terminal and command the server starts there
// enters it and drops its privileges before it touches anything a learner
// controls. A learner who traps the files a new terminal opens (a read lease
// makes an open wait) and then looks for the waiting process must find
// nothing with more privilege than their own, and nothing to ptrace.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { attacker, type Shell } from './attacker.js';

let server: TestServer;
const shells: Shell[] = [];

beforeAll(async () => {
  server = await startTestServer('exec-path');
});

afterAll(async () => {
  for (const s of shells) s.close();
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

// Arms the trap, prints "armed", then reports every process that appears in
// the sandbox meanwhile: can it be ptraced, does it run under seccomp, is
// CAP_SYS_MODULE (16) still in its bounding set. Leases are released after the
// first report (or 5 s), so the server's open goes on.
const TRAP = (setup: string, files: string) => `
${setup}
cat > /tmp/trap.py <<'PY'
import ctypes, fcntl, glob, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
F_SETLEASE, F_RDLCK = 1024, 0
broken = []
signal.signal(signal.SIGIO, lambda *_: broken.append(time.time()))
mine = sys.argv[1]  # the session of the learner's own shell: their commands are not the server's
fds = []
for path in sys.argv[2:]:
    fd = os.open(path, os.O_RDONLY)
    fcntl.fcntl(fd, F_SETLEASE, F_RDLCK)
    fds.append(fd)
known = set(p for p in os.listdir("/proc") if p.isdigit())
print("armed", flush=True)
deadline, seen = time.time() + 5, {}
while time.time() < deadline and not (broken and time.time() > broken[0] + 1):
    for p in os.listdir("/proc"):
        if not p.isdigit() or p in known or p in seen:
            continue
        try:
            status = dict(l.split(":", 1) for l in open("/proc/%s/status" % p).read().splitlines() if ":" in l)
            session = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[3]
        except (OSError, IndexError):
            continue
        if session == mine:
            continue
        attached = libc.ptrace(0x4206, int(p), None, None) == 0  # PTRACE_SEIZE
        if attached:
            libc.ptrace(17, int(p), None, None)  # PTRACE_DETACH
        bnd = int(status["CapBnd"].strip(), 16)
        seen[p] = "process %s seccomp=%s module-cap=%s ptrace=%s" % (p, status["Seccomp"].strip(), "yes" if bnd >> 16 & 1 else "no", "attached" if attached else "refused")
    time.sleep(0.005)
for fd in fds:
    os.close(fd)
print("lease broken" if broken else "lease kept", flush=True)
for line in seen.values():
    print(line, flush=True)
print("done", flush=True)
PY
setsid -f python3 /tmp/trap.py $(ps -o sid= $$) ${files} > /tmp/trap.out 2>&1 < /dev/null
for i in $(seq 200); do grep -q armed /tmp/trap.out 2>/dev/null && break; sleep 0.02; done
cat /tmp/trap.out`;

async function springTrap(shell: Shell): Promise<string[]> {
  // a second terminal in the trapped sandbox: the server starts it as for any learner
  await shell.learner.createTerminal(shell.sandbox.id).catch(() => undefined);
  let report = '';
  for (let i = 0; i < 300 && !/^done$/m.test(report); i++) {
    report = (await shell.run('cat /tmp/trap.out')).output;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  expect(report).toMatch(/^done$/m);
  return report.split('\n').filter((l) => l.startsWith('process '));
}

/** A process with more privilege than the learner: no seccomp filter, or CAP_SYS_MODULE still bounded. */
const privileged = (line: string) => /seccomp=0|module-cap=yes/.test(line);

it('gives a learner who traps the new terminal\'s /dev/pts nothing privileged to ptrace', async () => {
  const shell = await attacker(server);
  shells.push(shell);
  // the real devpts stays reachable through its ptmx; every terminal file is a trap
  const armed = await shell.run(
    TRAP(
      `mkdir -p /run/realpts && mount --bind /dev/pts /run/realpts && mount -t tmpfs trap /dev/pts && touch /dev/pts/ptmx && mount --bind /run/realpts/ptmx /dev/pts/ptmx
       for i in $(seq 0 31); do touch /dev/pts/$i; done`,
      '$(seq -f /dev/pts/%g 0 31)',
    ),
  );
  expect(armed.output).toMatch(/armed/);
  const seen = await springTrap(shell);
  expect(seen.filter((l) => l.includes('ptrace=attached') && privileged(l))).toEqual([]);
});

it('gives a learner who traps /dev/ptmx nothing privileged to ptrace', async () => {
  const shell = await attacker(server);
  shells.push(shell);
  const armed = await shell.run(TRAP('rm -f /dev/ptmx && touch /dev/ptmx', '/dev/ptmx'));
  expect(armed.output).toMatch(/armed/);
  const seen = await springTrap(shell);
  expect(seen.filter((l) => l.includes('ptrace=attached') && privileged(l))).toEqual([]);
});

it('starts every terminal and command under the sandbox\'s seccomp filter and without the withheld capabilities', async () => {
  const shell = await attacker(server);
  shells.push(shell);
  const r = await shell.run('grep -E "^(Seccomp|CapBnd):" /proc/self/status /proc/$PPID/status');
  for (const line of r.output.split('\n')) {
    if (line.includes('Seccomp:')) expect(line).toMatch(/Seccomp:\s+2$/);
    if (line.includes('CapBnd:')) expect((BigInt('0x' + line.split(/\s+/).at(-1)) >> 16n) & 1n).toBe(0n);
  }
});
