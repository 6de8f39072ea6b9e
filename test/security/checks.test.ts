// Checks under attack: a learner who freezes, kills or ptraces what runs in
// their sandbox must not stop their own checks, let alone other learners'; no
// learner holds more than a fair share of the server's check slots; a frozen
// sandbox is still destroyed, leaving nothing.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { startTestServer, type Learner, type TestServer } from '../helpers/server.js';
import { detectCgroups } from '../../server/sandbox/cgroups.js';
import { processesIn } from '../helpers/drivers.js';
import { attacker, Shell } from './attacker.js';

let server: TestServer;
const shells: Shell[] = [];
const LESSON = '10-checks';

// a server per test, each with two check slots for all learners: one learner taking both would stop everyone
beforeEach(async () => {
  server = await startTestServer('checks', { labsDir: path.join(PACKAGE_ROOT, 'test/fixtures/security-labs'), checkConcurrency: 2 });
});

afterEach(async () => {
  for (const s of shells.splice(0)) s.close();
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

/** Cgroups and processes of one sandbox still on the host. */
async function leftoversOf(id: string): Promise<string[]> {
  const dirs = detectCgroups().hierarchies.map((h) => path.join(h.mountPoint, server.instance, id)).filter((d) => existsSync(d));
  return [...dirs.map((d) => `cgroup ${d}`), ...(await processesIn(`/${id}/`))];
}

async function start(learner: Learner): Promise<string> {
  const r = await learner.json<{ sandbox: { id: string } }>(`/api/lessons/${LESSON}/start`, { method: 'POST' });
  return r.sandbox.id;
}

function check(learner: Learner, exercise: string): Promise<{ passed: boolean; reason: string }> {
  return learner.json(`/api/lessons/${LESSON}/exercises/${exercise}/check`, { method: 'POST' });
}

/** How long a learner who did nothing wrong waits for a check's verdict. */
async function victimCheck(): Promise<{ ms: number; reason: string }> {
  const victim = await server.learner();
  await start(victim);
  const asked = Date.now();
  const answer = await Promise.race([check(victim, 'file'), new Promise<undefined>((resolve) => setTimeout(resolve, 8000))]);
  return { ms: Date.now() - asked, reason: answer?.reason ?? 'no answer within 8 s' };
}

async function lessonShell(): Promise<Shell> {
  const learner = await server.learner();
  const id = await start(learner);
  const shell = await Shell.open(learner, { id, hostname: '', createdAt: 0, terminals: [] });
  shells.push(shell);
  return shell;
}

/** Moves every process the learner can move into a cgroup of their own and freezes it (and their whole tree, where they may). */
const FREEZE = `
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
  r=/sys/fs/cgroup; echo 1 > $r/cgroup.freeze
  mkdir -p $r/ice; for p in $(cat $r/cgroup.procs $r/*/cgroup.procs); do echo $p > $r/ice/cgroup.procs; done; echo 1 > $r/ice/cgroup.freeze
else
  r=/sys/fs/cgroup/freezer; echo FROZEN > $r/freezer.state
  mkdir -p $r/ice; for p in $(cat $r/cgroup.procs); do echo $p > $r/ice/cgroup.procs; done; echo FROZEN > $r/ice/freezer.state
fi`;

it('answers other learners\' checks in their usual time while a learner freezes the checks in their sandbox', async () => {
  const shell = await lessonShell();
  // in a second, while their checks are sleeping, everything in the sandbox freezes
  await shell.run(`cat > /tmp/freeze.sh <<'EOF'\n${FREEZE}\nEOF\nsetsid -f sh -c 'sleep 1; sh /tmp/freeze.sh' >/dev/null 2>&1 </dev/null`);
  const held = ['hold1', 'hold2', 'hold3', 'never1', 'never2'].map((e) => check(shell.learner, e).catch(() => undefined));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const victim = await victimCheck();
  expect(victim.reason).toBe('There is no /root/ok yet.');
  expect(victim.ms).toBeLessThan(3000);
  await shell.learner.fetch(`/api/sandboxes/${shell.sandbox.id}`, { method: 'DELETE', headers: { origin: shell.learner.origin } });
  await Promise.race([Promise.all(held), new Promise((resolve) => setTimeout(resolve, 15_000))]);
});

it('gives no learner more than a fair share of the check slots', async () => {
  const learner = await server.learner();
  await start(learner);
  // checks that run until their timeout: one learner asking for all of them at once
  const hogs = ['never1', 'never2', 'hold1', 'hold2', 'hold3'].map((e) => check(learner, e).catch(() => undefined));
  await new Promise((resolve) => setTimeout(resolve, 300));
  const victim = await victimCheck();
  expect(victim.reason).toBe('There is no /root/ok yet.');
  expect(victim.ms).toBeLessThan(2500);
  await Promise.all(hogs);
}, 60_000);

it('keeps a running check out of the learner\'s reach: not killed, not stopped, not traced', async () => {
  const shell = await lessonShell();
  const verdict = check(shell.learner, 'slow');
  // for three seconds: SIGKILL, SIGSTOP and ptrace at every process outside the learner's own session
  const r = await shell.run(`
    me=$(ps -o sid= $$ | tr -d ' ')
    python3 - "$me" <<'PY'
import ctypes, os, signal, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
me, hits = sys.argv[1], set()
end = time.time() + 3
while time.time() < end:
    for p in os.listdir("/proc"):
        if not p.isdigit() or p == "1":
            continue
        try:
            session = open("/proc/%s/stat" % p).read().rsplit(")", 1)[1].split()[3]
        except (OSError, IndexError):
            continue
        if session == me:
            continue
        if libc.ptrace(0x4206, int(p), None, None) == 0:
            hits.add("traced " + p)
            libc.ptrace(17, int(p), None, None)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            try:
                os.kill(int(p), sig)
                hits.add("signalled " + p)
            except OSError:
                pass
    time.sleep(0.01)
print("hits:", len(hits))
PY`);
  expect(r.output).toMatch(/^hits: \d+$/m);
  expect(await verdict).toMatchObject({ passed: true });
}, 30_000);

it('destroys a sandbox whose processes are all frozen, and leaves nothing of it', async () => {
  const shell = await attacker(server);
  shells.push(shell);
  await shell.run(`cat > /tmp/freeze.sh <<'EOF'\n${FREEZE}\nEOF\nsetsid -f sh -c 'sleep 0.5; sh /tmp/freeze.sh' >/dev/null 2>&1 </dev/null`);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const res = await shell.learner.fetch(`/api/sandboxes/${shell.sandbox.id}`, { method: 'DELETE', headers: { origin: shell.learner.origin } });
  expect(res.status).toBe(204);
  expect(await leftoversOf(shell.sandbox.id)).toEqual([]);
});
