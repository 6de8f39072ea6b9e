// Check latency as a learner sees it: from the end of a command typed into a
// real terminal (its output settles) to the automatic check's result, alone
// and with many learners at once; and the cost of one check run.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { AutoChecker } from '../server/checks/autocheck.js';
import { MemoryProgressStore } from '../server/checks/progress.js';
import { CheckRunner } from '../server/checks/runner.js';
import { loadConfig } from '../server/config.js';
import { PACKAGE_ROOT } from '../server/paths.js';
import type { SandboxPty } from '../server/sandbox/driver.js';
import { NamespacesDriver } from '../server/sandbox/namespaces/driver.js';
import { SandboxManager } from '../server/sandbox/manager.js';
import { ensureRootfs } from '../server/sandbox/rootfs.js';
// until the terminal's own settle detector (server/terminal/activity.ts) is merged
import { settlingTerminal, type SettlingTerminal } from '../test/helpers/settle.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';

const SOLO_ROUNDS = 40;
const COST_RUNS = 100;
const LEARNERS = 16;
const CROWD_ROUNDS = 5;
/** Quiet time after Enter that counts as "command settled" (the terminal's detector uses about as much). */
const SETTLE_MS = 120;

/** The labs' helper library when the repository has one, else the test fixtures'. */
function library(): { text: string; source: string } {
  for (const file of [path.join(PACKAGE_ROOT, 'labs/_lib/check.sh'), path.join(PACKAGE_ROOT, 'test/fixtures/labs/_lib/check.sh')]) {
    if (existsSync(file)) return { text: readFileSync(file, 'utf8'), source: path.relative(PACKAGE_ROOT, file) };
  }
  return { text: 'fail() { echo "$*"; exit 1; }', source: 'inline' };
}

interface Learner {
  box: string;
  pty: SandboxPty;
  term: SettlingTerminal;
  close(): Promise<void>;
}

async function learner(sandboxes: SandboxManager): Promise<Learner> {
  const box = (await sandboxes.create()).id;
  const pty = sandboxes.spawnPty(box, ['bash', '-l'], { cols: 100, rows: 30 });
  const term = settlingTerminal(pty, SETTLE_MS);
  await term.waitFor(/# $/);
  return {
    box,
    pty,
    term,
    async close() {
      term.dispose();
      await pty.terminate(200);
      await sandboxes.destroy(box);
    },
  };
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
      settled: l.term.settled,
      recheckDelayMs: 0,
      onResult: (r) => {
        const at = performance.now();
        checker.dispose();
        if (r.passed) resolve(at - l.term.lastOutputAt);
        else reject(new Error(`the check failed: ${r.reason}`));
      },
      onError: reject,
    });
    void checker.start().then(() => l.term.type(`touch /tmp/flag-${n}\r`));
  });
}

export async function benchChecks(): Promise<BenchResult[]> {
  const config = loadConfig({ instance: 'bench-checks' });
  const rootfs = await ensureRootfs({ dataDir: config.dataDir, suite: config.rootfs.suite, mirror: config.rootfs.mirror });
  const driver = new NamespacesDriver({ dataDir: config.dataDir, instance: 'bench-checks', limits: config.limits, rootfs });
  const sandboxes = new SandboxManager(driver, { maxSandboxes: LEARNERS + 2, idleTimeoutMs: 0 });
  await sandboxes.start();
  const lib = library();
  console.error(`bench: checks source ${lib.source}; "settled" after ${SETTLE_MS} ms of quiet`);
  // the server's default bound: as many checks at once as there are CPUs
  const runner = new CheckRunner({ executor: sandboxes, library: lib.text });
  const results: BenchResult[] = [];
  try {
    // one learner: command end → result
    const solo = await learner(sandboxes);
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
    await solo.close();

    // many learners pressing Enter at the same moment, and one more typing meanwhile
    const crowd = await Promise.all(Array.from({ length: LEARNERS }, () => learner(sandboxes)));
    const typist = await learner(sandboxes);
    const echo = async () => {
      const t = performance.now();
      await new Promise<void>((resolve) => {
        const sub = typist.pty.onData((d) => {
          if (d.includes('x')) {
            sub.dispose();
            resolve();
          }
        });
        typist.term.type('x');
      });
      return performance.now() - t;
    };
    const idleEchoMs: number[] = [];
    for (let i = 0; i < 50; i++) idleEchoMs.push(await echo());
    typist.term.type('\x15'); // Ctrl-U: clear the line typed
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
      typist.term.type('\x15');
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
    );
  } finally {
    await sandboxes.close();
  }
  return results;
}
