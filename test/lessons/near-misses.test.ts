// Wrong answers to the curriculum's exercises, typed into a real shell by
// `boxlab verify --solution`, as a reviewer would try them: each near miss
// must fail, and say what is wrong. (Right answers are proven by `boxlab
// verify` over every lesson, which CI runs twice.)
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import type { LessonReport } from '../../server/authoring/verify.js';
import { detectCgroups } from '../../server/sandbox/cgroups.js';
import { TEST_DATA_DIR, testInstance } from '../helpers/env.js';
import { boxlab } from '../helpers/cli.js';

/** Finds the lesson's cgroup directory the way the lessons' own solutions do. */
const CG = (controller: string, name: string) =>
  `if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then CG=/sys/fs/cgroup/${name}; else CG=/sys/fs/cgroup/${controller}/${name}; fi; mkdir -p $CG`;

const NEAR_MISSES: Array<{ target: string; why: string; answer: string; reason: RegExp }> = [
  {
    target: '01-namespaces/uts',
    why: 'renames the sandbox itself',
    answer: 'hostname mybox; sleep infinity &',
    reason: /You renamed the sandbox itself to mybox/,
  },
  {
    target: '01-namespaces/pid',
    why: 'forgets --fork: unshare moves only its children',
    answer: 'unshare --pid sleep infinity &',
    reason: /add --fork/,
  },
  {
    target: '01-namespaces/proc',
    why: 'a new PID namespace that still reads the sandbox\'s /proc',
    answer: 'unshare --pid --fork sleep infinity &',
    reason: /shares the sandbox's mount namespace.*--mount-proc/,
  },
  {
    target: '02-cgroups/memory',
    why: 'twice the limit asked for',
    answer: `${CG('memory', 'demo')}\nif [ -f $CG/memory.max ]; then echo 100M > $CG/memory.max; echo 0 > $CG/memory.swap.max; else echo 100M > $CG/memory.limit_in_bytes; echo 100M > $CG/memory.memsw.limit_in_bytes; fi\nsleep infinity &\necho $! > $CG/cgroup.procs`,
    reason: /memory limit is 104857600 bytes; the task asks for 50M/,
  },
  {
    target: '02-cgroups/forkbomb',
    why: 'the bomb is contained but left running',
    answer: `${CG('pids', 'bomb')}\necho 20 > $CG/pids.max\nsh -c "echo \\$\\$ > $CG/cgroup.procs; exec forkbomb" &\nsleep 2`,
    reason: /The bomb is still alive: \d+ processes in bomb/,
  },
  {
    target: '03-copy-on-write/copy-up',
    why: 'edits the lower layer instead of going through the overlay',
    answer: "echo 'Changed in the container.' >> /lab/lower/greeting.txt",
    reason: /The files in \/lab\/lower have changed: a lower layer must never be written to/,
  },
  {
    target: '04-networking/nat',
    why: 'routes and forwarding, but no NAT: the world cannot answer',
    answer: 'ip -n c1 route add default via 172.20.0.1\nip -n c2 route add default via 172.20.0.1\nsysctl -w net.ipv4.ip_forward=1',
    reason: /reach the world with their private source address.*MASQUERADE/,
  },
  {
    target: '06-privileges/capabilities',
    why: 'drops a capability, but not the one that guards port 80',
    answer: "capsh --drop=cap_net_raw -- -c 'exec sleep infinity' &",
    reason: /No root process lacks CAP_NET_BIND_SERVICE in its bounding set/,
  },
];

const tmp = mkdtempSync(path.join(os.tmpdir(), 'boxlab-near-misses-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));


it.each(NEAR_MISSES)('$target fails an answer that $why', async ({ target, answer, reason }) => {
  const file = path.join(tmp, `${target.replace('/', '-')}.sh`);
  writeFileSync(file, `${answer}\n`);
  const instance = testInstance('nearmiss');
  const r = await boxlab('verify', '--data-dir', TEST_DATA_DIR, '--instance', instance, '--json', target, '--solution', file);
  for (const h of detectCgroups().hierarchies) expect(existsSync(path.join(h.mountPoint, instance))).toBe(false);
  const report = JSON.parse(r.stdout) as { ok: boolean; lessons: LessonReport[] };
  const exercise = report.lessons[0]!.exercises.find((e) => e.id === target.split('/')[1])!;
  expect(exercise.status).toBe('failed');
  // it failed before the answer, as it should, and still fails after it, with a reason
  expect(exercise.before?.passed).toBe(false);
  expect(exercise.after?.passed).toBe(false);
  expect(exercise.after?.reason).toMatch(reason);
  expect(r.status).toBe(1);
}, 60_000);
