// Check latency as a learner sees it: from the end of a command typed into a
// real terminal (the server's terminal session, with its own command-settled
// detector) to the automatic check's result, alone and with many learners at
// once; and the cost of one check run, and the CPU of one by part (the
// server's spawn, the helper outside the sandbox, bash, the helper library,
// a lesson's check), from the checks' cgroup (v1 cpuacct) and /proc.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoChecker } from '../server/checks/autocheck.js';
import { MemoryProgressStore } from '../server/checks/progress.js';
import { CheckRunner } from '../server/checks/runner.js';
import { loadConfig } from '../server/config.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import { NamespacesDriver } from '../server/sandbox/namespaces/driver.js';
import { SandboxManager } from '../server/sandbox/manager.js';
import { ensureRootfs } from '../server/sandbox/rootfs.js';
import { decodeServer } from '../server/terminal/protocol.js';
import { TerminalRegistry } from '../server/terminal/registry.js';
import type { TerminalSession, Viewer } from '../server/terminal/session.js';
import { loadLabs } from '../server/labs/loader.js';
import { procCpu, sandboxChecksCpu } from './cost.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';

const SOLO_ROUNDS = 40;
const COST_RUNS = 100;
const LEARNERS = 16;
const CROWD_ROUNDS = 5;

/** The labs' helper library when the repository has one, else the test fixtures'. */
function library(): { text: string; source: string } {
  for (const file of [path.join(PACKAGE_ROOT, 'labs/_lib/check.sh'), path.join(PACKAGE_ROOT, 'test/fixtures/labs/_lib/check.sh')]) {
    if (existsSync(file)) return { text: readFileSync(file, 'utf8'), source: path.relative(PACKAGE_ROOT, file) };
  }
  return { text: 'fail() { echo "$*"; exit 1; }', source: 'inline' };
}

/** A learner's terminal as the server holds it, with one writing viewer that acknowledges output at once, as a browser would. */
interface Learner {
  box: string;
  session: TerminalSession;
  type(text: string): void;
  /** When the latest output was sent to the viewer (performance.now()). */
  readonly lastOutputAt: number;
  /** Resolves once output holding `text` (latin1) has been sent. */
  waitFor(text: string): Promise<void>;
  close(): Promise<void>;
}

async function learner(sandboxes: SandboxManager, terminals: TerminalRegistry): Promise<Learner> {
  const box = (await sandboxes.create()).id;
  const session = terminals.create(box, { cols: 100, rows: 30 });
  let viewer: Viewer | undefined;
  let unacked = 0;
  let lastOutputAt = performance.now();
  let tail = '';
  const waiters = new Set<() => void>();
  viewer = session.attach(
    {
      send(frame) {
        const msg = decodeServer(frame);
        if (msg.type !== 'output' && msg.type !== 'snapshot') return;
        tail = (tail + Buffer.from(msg.data).toString('latin1')).slice(-256);
        for (const w of waiters) w();
        if (msg.type !== 'output') return;
        lastOutputAt = performance.now();
        unacked += msg.data.length;
        if (!viewer) return; // still attaching: acknowledged right after
        session.ack(viewer, unacked);
        unacked = 0;
      },
      close() {},
    },
    { cols: 100, rows: 30, mayWrite: true, takeWriter: true },
  );
  session.ack(viewer, unacked);
  unacked = 0;
  const writer = viewer;
  const l: Learner = {
    box,
    session,
    type: (text) => session.input(writer, new TextEncoder().encode(text)),
    get lastOutputAt() {
      return lastOutputAt;
    },
    waitFor: (text) =>
      new Promise<void>((resolve) => {
        const w = () => {
          if (!tail.includes(text)) return;
          tail = '';
          waiters.delete(w);
          resolve();
        };
        waiters.add(w);
        w();
      }),
    async close() {
      await session.end(200);
      await sandboxes.destroy(box);
    },
  };
  await l.waitFor('# ');
  return l;
}

/** Types a command that completes exercise `n`; resolves with ms from the command's last output to the passing result. */
function checkedCommand(l: Learner, runner: CheckRunner, n: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const checker = new AutoChecker({
      runner,
      sandboxId: l.box,
      learnerId: l.box,
      lessonId: 'bench',
      exercises: [{ id: `flag-${n}`, check: `[ -e /tmp/flag-${n} ] || fail "No /tmp/flag-${n} yet."` }],
      progress: new MemoryProgressStore(),
      settled: (listener) => l.session.onCommandSettled(listener),
      recheckDelayMs: 0,
      onResult: (r) => {
        const at = performance.now();
        checker.dispose();
        if (r.passed) resolve(at - l.lastOutputAt);
        else reject(new Error(`the check failed: ${r.reason}`));
      },
      onError: reject,
    });
    void checker.start().then(() => l.type(`touch /tmp/flag-${n}\r`));
  });
}

export async function benchChecks(): Promise<BenchResult[]> {
  const config = loadConfig({ instance: 'bench-checks' });
  const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror });
  const driver = new NamespacesDriver({ dataDir: config.dataDir, instance: 'bench-checks', limits: config.limits, rootfs });
  const sandboxes = new SandboxManager(driver, { maxSandboxes: LEARNERS + 2, idleTimeoutMs: 0 });
  await sandboxes.start();
  // the server's terminals, with their default settle delay
  const terminals = new TerminalRegistry(sandboxes, { graceMs: 3_600_000 });
  const lib = library();
  console.error(`bench: checks source ${lib.source}; the terminal's detector settles after 120 ms of quiet`);
  // the server's default bound: as many checks at once as there are CPUs
  const runner = new CheckRunner({ executor: sandboxes, library: lib.text });
  const results: BenchResult[] = [];
  try {
    // one learner: command end → result
    const solo = await learner(sandboxes, terminals);
    const soloMs: number[] = [];
    for (let i = -2; i < SOLO_ROUNDS; i++) {
      const ms = await checkedCommand(solo, runner, i + 2);
      if (i >= 0) soloMs.push(ms);
    }

    // the cost of one check: a run of the helper library and a test, nothing queued
    const cost: number[] = [];
    for (let i = 0; i < COST_RUNS; i++) {
      const t = performance.now();
      const r = await runner.check(solo.box, '[ -d /proc/1 ] || fail "no init"');
      if (!r.passed) throw new Error(r.reason);
      cost.push(performance.now() - t);
    }

    // where a check run's CPU goes: this process (the server's part: spawning the helper, its pipes),
    // the helper outside the sandbox (its reaped time less the checks' cgroup), and inside: bash, the library, the script
    const labs = await loadLabs(path.join(PACKAGE_ROOT, 'labs'), { only: ['01-namespaces'] }).catch(() => undefined);
    const utsCheck = labs?.lessons[0]?.exercises.find((e) => e.id === 'uts')?.check.text;
    const parts: Array<{ name: string; library: string; script: string }> = [
      { name: 'bash alone (`true`, no library)', library: '', script: 'true' },
      { name: 'bash and the helper library (`true`)', library: lib.text, script: 'true' },
      ...(utsCheck ? [{ name: 'the workshop\u2019s check (01-namespaces/uts, failing, one try)', library: lib.text, script: utsCheck }] : []),
    ];
    const breakdown: BenchResult[] = [];
    for (const part of parts) {
      const partRunner = new CheckRunner({ executor: sandboxes, library: part.library });
      const env = { BOXLAB_CHECK_QUICK: '1' };
      await partRunner.check(solo.box, part.script, { env });
      const [inside0, self0, children0] = [sandboxChecksCpu('bench-checks', solo.box), process.cpuUsage(), procCpu(process.pid)!.children];
      for (let i = 0; i < COST_RUNS; i++) await partRunner.check(solo.box, part.script, { env });
      const self = process.cpuUsage(self0);
      const children = procCpu(process.pid)!.children - children0;
      const inside = sandboxChecksCpu('bench-checks', solo.box);
      if (inside === undefined || inside0 === undefined) break;
      const per = (v: number) => round((v / COST_RUNS) * 1000, 2);
      breakdown.push(
        { name: `check run CPU, ${part.name}: in the sandbox`, value: per(inside - inside0), unit: 'ms', target: '' },
        { name: `check run CPU, ${part.name}: the helper outside`, value: per(Math.max(0, children - (inside - inside0))), unit: 'ms', target: '' },
        { name: `check run CPU, ${part.name}: the server (spawn, pipes)`, value: per((self.user + self.system) / 1e6), unit: 'ms', target: '' },
      );
    }
    await solo.close();

    // many learners pressing Enter at the same moment, and one more typing meanwhile
    const crowd = await Promise.all(Array.from({ length: LEARNERS }, () => learner(sandboxes, terminals)));
    const typist = await learner(sandboxes, terminals);
    const echo = async () => {
      const t = performance.now();
      await new Promise<void>((resolve) => {
        void typist.waitFor('x').then(resolve);
        typist.type('x');
      });
      return performance.now() - t;
    };
    const idleEchoMs: number[] = [];
    for (let i = 0; i < 50; i++) idleEchoMs.push(await echo());
    typist.type('\x15'); // Ctrl-U: clear the line typed
    const crowdMs: number[] = [];
    const echoMs: number[] = [];
    let n = 1000;
    for (let round = 0; round < CROWD_ROUNDS; round++) {
      let typing = true;
      const echoes = (async () => {
        while (typing) {
          echoMs.push(await echo());
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      crowdMs.push(...(await Promise.all(crowd.map((l) => checkedCommand(l, runner, n++)))));
      typing = false;
      await echoes;
      typist.type('\x15');
    }
    await Promise.all([...crowd, typist].map((l) => l.close()));

    results.push(
      { name: 'check latency after a command p50 (1 learner)', value: round(percentile(soloMs, 50)), unit: 'ms', target: '' },
      { name: 'check latency after a command p95 (1 learner)', value: round(percentile(soloMs, 95)), unit: 'ms', target: '<= 500' },
      { name: `check latency after a command p50 (${LEARNERS} learners at once)`, value: round(percentile(crowdMs, 50)), unit: 'ms', target: '' },
      { name: `check latency after a command p95 (${LEARNERS} learners at once)`, value: round(percentile(crowdMs, 95)), unit: 'ms', target: '<= 500' },
      { name: 'keystroke echo p95, no checks running', value: round(percentile(idleEchoMs, 95)), unit: 'ms', target: '' },
      { name: `keystroke echo p95 while ${LEARNERS} learners' checks run`, value: round(percentile(echoMs, 95)), unit: 'ms', target: '' },
      { name: 'check run cost p50', value: round(percentile(cost, 50)), unit: 'ms', target: '' },
      { name: 'check run cost p95', value: round(percentile(cost, 95)), unit: 'ms', target: '' },
      ...breakdown,
    );
  } finally {
    await terminals.close();
    await sandboxes.close();
  }
  return results;
}
