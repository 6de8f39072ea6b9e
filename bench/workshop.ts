// A workshop under load, against a real boxlab server in a process of its
// own: an instructor's dashboard open, N simulated learners (default 100) who
// join by code, start the namespaces lesson (a sandbox each), open its
// terminal (a bare protocol client) and the live learner channel, and type a
// command every few seconds, a key at a time, which the auto-checker checks;
// half way through, each types the first exercise's solution. Figures: errors,
// keystroke echo, check result latency (Enter to the result on the learner's
// channel), dashboard update latency (that result to the instructor's grid),
// server CPU and memory, memory per sandbox.
//
// Two workloads, one after the other with the same learners: a realistic room
// first (a third idle, the rest a command every 10 to 30 s typed in bursts),
// then the heavy one above (every learner a command every 2 to 5 s). Before
// them, for the cost model (bench/cost.ts), a window with every learner idle
// and one with every learner typing (and erasing, so no command runs); each
// window reports its CPU by process class, and the model divides it by what
// happened: CPU per idle learner, per keystroke, per check, per command.
// Sizes: BOXLAB_BENCH_LEARNERS (100), BOXLAB_BENCH_WORKSHOP_SECONDS (the heavy
// workload, 180), BOXLAB_BENCH_REALISTIC_SECONDS (120; 0 leaves it out),
// BOXLAB_BENCH_IDLE_SECONDS (10) and BOXLAB_BENCH_TYPING_SECONDS (15) (0 leave
// the cost model's windows out). The cost model is also written to
// bench-cost.json.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { detectCgroups } from '../server/sandbox/cgroups.js';
import { decodeServer, encodeClient, type ClientMessage } from '../server/terminal/protocol.js';
import type { DashboardMessage } from '../server/contracts/dashboard.js';
import { Learner } from '../test/helpers/server.js';
import { BOXLAB, CLASSES, CostMeter, costBetween, totalOf, type Cost, type CostSnapshot } from './cost.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';
import { startServerProcess, type ServerProcess } from './terminal-clients.js';

const INSTANCE = 'bench-workshop';
const CORES = os.availableParallelism();
const SECRET = 'bench-workshop-secret';
const LESSON = '01-namespaces';
const EXERCISE = 'uts';
const SOLUTION = "unshare --uts sh -c 'hostname mybox; exec sleep infinity' &";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const jitter = (min: number, max: number) => min + Math.random() * (max - min);

interface Figures {
  errors: string[];
  echo: number[];
  /** Enter to the result: a passing check (the solution), a failing one (any other command; the helpers retry before failing). */
  checkPass: number[];
  checkFail: number[];
  dashboard: number[];
}

/** One simulated learner: a terminal connection that times echoes, and the learner channel. */
class SimLearner {
  readonly id: string;
  private ws!: WebSocket;
  private channel!: WebSocket;
  private echoWaiter: ((at: number) => void) | undefined;
  private resultWaiter: ((at: number, status: string) => void) | undefined;
  solved = false;
  /** When this learner's last result for the first exercise arrived, until the dashboard shows it. */
  pendingDashboard: number | undefined;
  private closing = false;

  /** Keys sent, echoed or not (the cost model's unit). */
  keys = 0;

  constructor(readonly learner: Learner, readonly name: string, private readonly figures: Figures) {
    this.id = learner.cookie.slice('boxlab_learner='.length, 'boxlab_learner='.length + 22);
  }

  async start(code: string): Promise<void> {
    const post = async (p: string, body: unknown = {}) => {
      const res = await this.learner.fetch(p, { method: 'POST', body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
      return res.json() as Promise<Record<string, unknown>>;
    };
    await post('/api/join', { code, name: this.name });
    const { sandbox } = (await post(`/api/lessons/${LESSON}/start`)) as { sandbox: { id: string } };
    const terminal = await this.learner.createTerminal(sandbox.id);
    this.channel = new WebSocket(this.learner.url.replace(/^http/, 'ws') + '/ws/learner', { headers: { cookie: this.learner.cookie, origin: this.learner.origin } });
    this.channel.on('message', (data) => {
      const m = JSON.parse(String(data)) as { kind: string; update?: { type: string; exerciseId?: string; status?: string } };
      const u = m.update;
      if (m.kind !== 'update' || u?.type !== 'exercise' || u.status === 'checking') return;
      const at = performance.now();
      if (u.exerciseId === EXERCISE) this.pendingDashboard ??= at;
      const waiter = this.resultWaiter;
      this.resultWaiter = undefined;
      waiter?.(at, u.status!);
    });
    this.watch(this.channel, 'learner channel');
    this.ws = new WebSocket(this.learner.wsUrl(terminal.id), { headers: { cookie: this.learner.cookie, origin: this.learner.origin } });
    const snapshot = new Promise<void>((resolve) => this.ws.once('message', () => resolve()));
    this.ws.on('message', (data: Buffer) => {
      const msg = decodeServer(new Uint8Array(data));
      if (msg.type === 'error') this.figures.errors.push(`${this.name}: terminal error ${msg.code}: ${msg.message}`);
      if (msg.type !== 'output') return;
      const at = performance.now();
      this.send({ type: 'ack', bytes: msg.data.length });
      const waiter = this.echoWaiter;
      this.echoWaiter = undefined;
      waiter?.(at);
    });
    this.watch(this.ws, 'terminal');
    await Promise.all([new Promise((resolve) => this.ws.once('open', resolve)), new Promise((resolve) => this.channel.once('open', resolve))]);
    this.send({ type: 'hello', cols: 80, rows: 24 });
    await snapshot;
    await sleep(300); // the login shell's prompt
  }

  private watch(ws: WebSocket, what: string): void {
    ws.on('error', (err) => this.figures.errors.push(`${this.name}: ${what}: ${err.message}`));
    ws.on('close', (code) => {
      if (!this.closing) this.figures.errors.push(`${this.name}: ${what} closed (${code})`);
    });
  }

  private send(msg: ClientMessage): void {
    this.ws.send(encodeClient(msg));
  }

  /** Sends one key and waits for its echo, timing it into `into`. */
  private async key(ch: string, into: number[] | undefined): Promise<void> {
    const echoed = new Promise<number | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 5000);
      this.echoWaiter = (at) => (clearTimeout(timer), resolve(at));
    });
    const sent = performance.now();
    this.keys++;
    this.send({ type: 'input', data: new TextEncoder().encode(ch) });
    const at = await echoed;
    if (at === undefined) this.figures.errors.push(`${this.name}: no echo of a key within 5 s`);
    else into?.push(at - sent);
  }

  /** Types `text` a key at a time, then erases it (no command runs): the cost model's typing. */
  async typeAndErase(text: string): Promise<void> {
    for (const ch of text) {
      await this.key(ch, undefined);
      await sleep(jitter(40, 120));
    }
    for (let k = 0; k < text.length; k++) {
      await this.key('\x7f', undefined);
      await sleep(jitter(40, 120));
    }
  }

  /**
   * Types `line` a key at a time (timing each echo), then Enter, then waits
   * for the check's result. `bursts`: as people type, a few keys quickly, then
   * a pause; otherwise a steady 40 to 120 ms a key.
   */
  async command(line: string, into: Figures | undefined, bursts = false): Promise<void> {
    let burst = 0;
    for (const ch of line) {
      await this.key(ch, into?.echo);
      if (!bursts) await sleep(jitter(40, 120)); // a person typing
      else if (--burst > 0) await sleep(jitter(30, 70));
      else {
        burst = 3 + Math.floor(Math.random() * 6);
        await sleep(jitter(300, 1500));
      }
    }
    const result = new Promise<{ at: number; status: string } | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 30_000);
      this.resultWaiter = (at, status) => (clearTimeout(timer), resolve({ at, status }));
    });
    const entered = performance.now();
    this.echoWaiter = undefined;
    this.send({ type: 'input', data: new TextEncoder().encode('\r') });
    const got = await result;
    if (got === undefined) this.figures.errors.push(`${this.name}: no check result within 30 s of a command`);
    else if (into) (got.status === 'done' ? into.checkPass : into.checkFail).push(got.at - entered);
  }

  close(): void {
    this.closing = true;
    this.ws?.close();
    this.channel?.close();
  }
}

/** Memory charged to each of the instance's sandboxes (cgroup v1 or v2). */
function sandboxMemory(): number[] {
  const hierarchy = detectCgroups().hierarchies.find((h) => (h.version === 1 ? h.controllers.includes('memory') : existsSafe(path.join(h.mountPoint, INSTANCE))));
  if (!hierarchy) return [];
  const dir = path.join(hierarchy.mountPoint, INSTANCE);
  const file = hierarchy.version === 1 ? 'memory.usage_in_bytes' : 'memory.current';
  return readdirSync(dir)
    .filter((e) => e.startsWith('sbx-'))
    .map((e) => Number(readFileSync(path.join(dir, e, file), 'utf8')));
}

function existsSafe(p: string): boolean {
  try {
    readdirSync(p);
    return true;
  } catch {
    return false;
  }
}

/** The instructor's session cookie of a server started with `--instructor-secret secret`. */
export async function instructorCookie(server: ServerProcess, secret = SECRET): Promise<string> {
  const res = await fetch(`${server.url}/api/instructor/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.url }, body: JSON.stringify({ secret }) });
  if (res.status !== 204) throw new Error(`instructor sign-in: ${res.status}`);
  return res.headers.getSetCookie().find((c) => c.startsWith('boxlab_instructor='))!.split(';')[0]!;
}

export async function benchWorkshop(): Promise<BenchResult[]> {
  const count = Number(process.env.BOXLAB_BENCH_LEARNERS ?? 100);
  const seconds = Number(process.env.BOXLAB_BENCH_WORKSHOP_SECONDS ?? 180);
  const server = await startServerProcess(INSTANCE, ['--max-sandboxes', String(count + 8), '--idle-timeout', '0', '--instructor-secret', SECRET]);
  const figures: Figures = { errors: [], echo: [], checkPass: [], checkFail: [], dashboard: [] };
  const learners: SimLearner[] = [];
  let dash: WebSocket | undefined;
  try {
    const cookie = await instructorCookie(server);
    const headers = { cookie, origin: server.url, 'content-type': 'application/json' };
    const created = await fetch(`${server.url}/api/instructor/workshops`, { method: 'POST', headers, body: JSON.stringify({ name: `Load test ${Date.now()}`, lessons: [LESSON], capacity: count }) });
    if (created.status !== 201) throw new Error(`creating the workshop: ${created.status} ${await created.text()}`);
    const workshop = (await created.json()) as { id: string; code: string };

    // the instructor's dashboard, timing each learner's result until it shows
    dash = new WebSocket(`${server.url.replace(/^http/, 'ws')}/ws/workshops/${workshop.id}/dashboard`, { headers: { cookie, origin: server.url } });
    const byId = new Map<string, SimLearner>();
    let dashboardMessages = 0;
    dash.on('message', (data) => {
      const at = performance.now();
      const m = JSON.parse(String(data)) as DashboardMessage;
      dashboardMessages++;
      if (m.type !== 'rows') return;
      for (const row of m.rows) {
        const l = byId.get(row.learnerId);
        if (l?.pendingDashboard === undefined) continue;
        figures.dashboard.push(at - l.pendingDashboard);
        l.pendingDashboard = undefined;
      }
    });
    dash.on('close', () => figures.errors.push('dashboard socket closed'));
    await new Promise((resolve, reject) => dash!.once('open', resolve).once('error', reject));

    // everyone joins and starts, ten at a time (a room arriving over a minute or so)
    const joinStart = performance.now();
    const queue = Array.from({ length: count }, (_, i) => i);
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const l = new SimLearner(await Learner.visit(server.url), `learner-${String(i).padStart(3, '0')}`, figures);
          try {
            await l.start(workshop.code);
            learners.push(l);
            byId.set(l.id, l);
          } catch (err) {
            figures.errors.push(`${l.name}: ${(err as Error).message}`);
          }
        }
      }),
    );
    const joinSeconds = (performance.now() - joinStart) / 1000;
    console.error(`bench: workshop: ${learners.length} learners in ${round(joinSeconds, 1)} s; running ${seconds} s`);

    const rssSamples: number[] = [];
    const sampler = setInterval(() => rssSamples.push(server.rss()), 1000);
    const meter = new CostMeter(server.pid, INSTANCE);
    const poller = setInterval(() => meter.poll(), 1000);
    const checkRuns = async () => {
      const text = await (await fetch(`${server.url}/metrics`, { headers })).text();
      return [...text.matchAll(/^boxlab_check_duration_seconds_count\{[^}]*kind="check"[^}]*\} (\d+)/gm)].reduce((s, m) => s + Number(m[1]), 0);
    };
    const keys = () => learners.reduce((s, l) => s + l.keys, 0);
    /** One window of the run: its CPU by class, and what happened in it. */
    const windows: CostWindow[] = [];
    const measure = async (name: string, idleLearners: number, work: () => Promise<number>): Promise<CostWindow> => {
      const [keys0, checks0] = [keys(), await checkRuns()];
      const a: CostSnapshot = meter.snapshot();
      const commands = await work();
      const b = meter.snapshot();
      const w: CostWindow = { name, ...costBetween(a, b), keys: keys() - keys0, commands, checks: (await checkRuns()) - checks0, learners: learners.length, idle: idleLearners };
      windows.push(w);
      return w;
    };
    const forEach = (seconds: number, body: (l: SimLearner, i: number, deadline: number) => Promise<number>) => async () => {
      const deadline = performance.now() + seconds * 1000;
      const counts = await Promise.all(learners.map((l, i) => body(l, i, deadline)));
      return counts.reduce((a, b) => a + b, 0);
    };

    // the cost model's windows: everyone idle, then everyone typing without running a command
    const idleSeconds = Number(process.env.BOXLAB_BENCH_IDLE_SECONDS ?? 10);
    const typingSeconds = Number(process.env.BOXLAB_BENCH_TYPING_SECONDS ?? 15);
    if (idleSeconds > 0) await measure('idle', learners.length, async () => (await sleep(idleSeconds * 1000), 0));
    if (typingSeconds > 0) {
      await measure('typing', 0, forEach(typingSeconds, async (l, i, deadline) => {
        await sleep(jitter(0, 1000));
        while (performance.now() < deadline) {
          await l.typeAndErase(`echo typing-${i}`);
          await sleep(jitter(500, 1500));
        }
        return 0;
      }));
    }

    // the realistic room: a third idle, the rest a command every 10 to 30 s, typed in bursts
    const realisticSeconds = Number(process.env.BOXLAB_BENCH_REALISTIC_SECONDS ?? 120);
    const realistic: Figures = { errors: figures.errors, echo: [], checkPass: [], checkFail: [], dashboard: [] };
    const REALISTIC_LINES = ['hostname', 'ls -l /proc/$$/ns', 'lsns', 'ps aux', 'cat /etc/hostname', 'echo $$', 'readlink /proc/self/ns/uts'];
    let realisticMachine = 0;
    let realisticServer = 0;
    if (realisticSeconds > 0) {
      const w = await measure('realistic', Math.floor(learners.length / 3), forEach(realisticSeconds, async (l, i, deadline) => {
        if (i % 3 === 2) return 0;
        let n = 0;
        await sleep(jitter(0, 15_000));
        while (performance.now() < deadline) {
          await l.command(REALISTIC_LINES[(i + n) % REALISTIC_LINES.length]!, realistic, true);
          n++;
          await sleep(jitter(10_000, 30_000));
        }
        return n;
      }));
      realisticMachine = (totalOf(w.cost) / w.seconds / CORES) * 100;
      realisticServer = (w.cost.server / w.seconds) * 100;
    }

    // the heavy workload: every learner a command every 2 to 5 s; the solution half way
    let started = performance.now();
    const heavy = await measure('heavy', 0, async () => {
      started = performance.now();
      return forEach(seconds, async (l, i, deadline) => {
        let n = 0;
        await sleep(jitter(0, 4000));
        for (; performance.now() < deadline; n++) {
          const half = performance.now() - started > (seconds * 1000) / 2;
          const line = half && !l.solved ? SOLUTION : `echo step-${i}-${n}`;
          if (line === SOLUTION) l.solved = true;
          await l.command(line, figures);
          await sleep(jitter(2000, 5000));
        }
        return n;
      })();
    });
    clearInterval(sampler);
    clearInterval(poller);
    const commands = heavy.commands;
    const cpu = (heavy.cost.server / heavy.seconds) * 100;
    const machineCpu = (totalOf(heavy.cost) / heavy.seconds / CORES) * 100;
    const perSandbox = sandboxMemory();
    await sleep(500);

    const grid = await (await fetch(`${server.url}/api/instructor/workshops/${workshop.id}/export.json`, { headers })).json() as { records: Array<{ exercise: string; completedAt: string | null }> };
    const completed = grid.records.filter((r) => r.exercise === EXERCISE && r.completedAt !== null).length;
    if (completed < learners.length) figures.errors.push(`${learners.length - completed} learners' solutions were not recorded as completed`);
    for (const e of figures.errors.slice(0, 20)) console.error(`bench: workshop error: ${e}`);
    console.error(`bench: workshop: ${commands} commands, ${figures.echo.length} keystrokes, ${dashboardMessages} dashboard messages, ${completed} completions`);
    const model = costModel(windows);
    printCostModel(windows, model);
    writeFileSync('bench-cost.json', JSON.stringify({ windows, model }, null, 2) + '\n');

    const MB = 1024 * 1024;
    const ms = (v: number | undefined) => round((v ?? Number.NaN) * 1000, 3);
    return [
      { name: `workshop: learners joined and running (of ${count})`, value: learners.length, unit: '', target: `>= ${count}` },
      { name: 'workshop: join + lesson start + terminal, all learners', value: round(joinSeconds, 1), unit: 's', target: '' },
      { name: `workshop: errors (all windows)`, value: figures.errors.length, unit: '', target: '<= 0' },
      { name: 'workshop: keystroke echo p50', value: round(percentile(figures.echo, 50), 2), unit: 'ms', target: '' },
      { name: 'workshop: keystroke echo p99', value: round(percentile(figures.echo, 99), 2), unit: 'ms', target: '<= 10' },
      { name: 'workshop: check result p50, passing (Enter to result)', value: round(percentile(figures.checkPass, 50)), unit: 'ms', target: '' },
      { name: 'workshop: check result p95, passing (Enter to result)', value: round(percentile(figures.checkPass, 95)), unit: 'ms', target: '<= 500' },
      { name: 'workshop: check result p50, failing (Enter to result)', value: round(percentile(figures.checkFail, 50)), unit: 'ms', target: '' },
      { name: 'workshop: check result p95, failing (Enter to result)', value: round(percentile(figures.checkFail, 95)), unit: 'ms', target: '<= 500' },
      { name: 'workshop: dashboard update p50 (result to grid)', value: round(percentile(figures.dashboard, 50)), unit: 'ms', target: '' },
      { name: 'workshop: dashboard update p95 (result to grid)', value: round(percentile(figures.dashboard, 95)), unit: 'ms', target: '<= 1000' },
      { name: 'workshop: server CPU (of one core)', value: round(cpu, 1), unit: '%', target: '' },
      { name: 'workshop: machine CPU busy (2 cores, all processes)', value: round(machineCpu, 1), unit: '%', target: '<= 40' },
      { name: 'workshop: check runs per command', value: round(heavy.checks / Math.max(1, commands), 2), unit: '', target: '' },
      { name: 'workshop: server RSS max', value: round(Math.max(...rssSamples) / MB, 1), unit: 'MiB', target: '' },
      { name: 'workshop: memory per sandbox (cgroup, mean)', value: round(perSandbox.reduce((a, b) => a + b, 0) / Math.max(1, perSandbox.length) / MB, 1), unit: 'MiB', target: '' },
      ...(realisticSeconds > 0
        ? [
            { name: 'workshop realistic: keystroke echo p50', value: round(percentile(realistic.echo, 50), 2), unit: 'ms', target: '' },
            { name: 'workshop realistic: keystroke echo p99', value: round(percentile(realistic.echo, 99), 2), unit: 'ms', target: '<= 10' },
            { name: 'workshop realistic: check result p95 (Enter to result)', value: round(percentile([...realistic.checkFail, ...realistic.checkPass], 95)), unit: 'ms', target: '<= 500' },
            { name: 'workshop realistic: server CPU (of one core)', value: round(realisticServer, 1), unit: '%', target: '' },
            { name: 'workshop realistic: machine CPU busy (2 cores, all processes)', value: round(realisticMachine, 1), unit: '%', target: '' },
          ]
        : []),
      { name: 'workshop cost: CPU per idle learner, boxlab (of one core)', value: round((model.idlePerLearner ? totalOf(model.idlePerLearner, BOXLAB) : Number.NaN) * 100, 3), unit: '%', target: '' },
      { name: 'workshop cost: CPU per keystroke, boxlab', value: ms(model.perKey && totalOf(model.perKey, BOXLAB)), unit: 'ms', target: '' },
      { name: 'workshop cost: CPU per check run (checks + exec helpers)', value: ms(model.perCheck), unit: 'ms', target: '' },
      { name: 'workshop cost: CPU per command, heavy, boxlab (its checks included)', value: ms(model.perCommand && totalOf(model.perCommand, BOXLAB)), unit: 'ms', target: '' },
    ];
  } finally {
    for (const l of learners) l.close();
    dash?.removeAllListeners('close');
    dash?.close();
    await server.stop();
  }
}

interface CostWindow { name: string; cost: Cost; seconds: number; keys: number; commands: number; checks: number; learners: number; idle: number }

export interface CostModel {
  /** CPU seconds per second (a fraction of one core) per connected learner doing nothing. */
  idlePerLearner?: Cost;
  /** CPU seconds per keystroke (and its echo), over the idle room. */
  perKey?: Cost;
  /** CPU seconds of the checks' own cgroups and their exec helpers, per check run (heavy window). */
  perCheck?: number;
  /** CPU seconds per command over the idle room and the keystrokes, its checks included (heavy window). */
  perCommand?: Cost;
  perCommandRealistic?: Cost;
  checksPerCommand?: number;
  checksPerCommandRealistic?: number;
}

const byClass = (f: (c: (typeof CLASSES)[number]) => number): Cost => Object.fromEntries(CLASSES.map((c) => [c, f(c)])) as Cost;

/** Divides each window's CPU by what happened in it, each window less what the ones before explain. */
export function costModel(windows: CostWindow[]): CostModel {
  const w = (name: string) => windows.find((x) => x.name === name);
  const idle = w('idle');
  const typing = w('typing');
  const model: CostModel = {};
  const idleRate = byClass((c) => (idle ? idle.cost[c] / idle.seconds : 0));
  if (idle) model.idlePerLearner = byClass((c) => idleRate[c] / idle.learners);
  if (typing && typing.keys > 0) model.perKey = byClass((c) => (typing.cost[c] - idleRate[c] * typing.seconds) / typing.keys);
  const perCommand = (x: CostWindow | undefined) =>
    x && x.commands > 0 ? byClass((c) => (x.cost[c] - idleRate[c] * x.seconds - (model.perKey?.[c] ?? 0) * x.keys) / x.commands) : undefined;
  const heavy = w('heavy');
  const realistic = w('realistic');
  const pc = perCommand(heavy);
  const pr = perCommand(realistic);
  if (pc) model.perCommand = pc;
  if (pr) model.perCommandRealistic = pr;
  if (heavy && heavy.checks > 0) {
    model.perCheck = (heavy.cost.checks + heavy.cost['exec helpers']) / heavy.checks;
    model.checksPerCommand = heavy.checks / Math.max(1, heavy.commands);
  }
  if (realistic && realistic.commands > 0) model.checksPerCommandRealistic = realistic.checks / realistic.commands;
  return model;
}

function printCostModel(windows: CostWindow[], model: CostModel): void {
  const f = (v: number | undefined, digits = 1) => (v === undefined || Number.isNaN(v) ? '' : v.toFixed(digits));
  const rows: string[] = [];
  rows.push(`| class | ${windows.map((x) => `${x.name} (% of a core)`).join(' | ')} |`);
  rows.push(`|---|${windows.map(() => '---').join('|')}|`);
  for (const c of CLASSES) rows.push(`| ${c} | ${windows.map((x) => f((x.cost[c] / x.seconds) * 100)).join(' | ')} |`);
  rows.push(`| all | ${windows.map((x) => f((totalOf(x.cost) / x.seconds) * 100)).join(' | ')} |`);
  rows.push(`| seconds / keys / commands / check runs | ${windows.map((x) => `${f(x.seconds, 0)} / ${x.keys} / ${x.commands} / ${x.checks}`).join(' | ')} |`);
  rows.push('');
  rows.push('| class | per idle learner (‰ of a core) | per keystroke (ms) | per command, heavy (ms) | per command, realistic (ms) |');
  rows.push('|---|---|---|---|---|');
  const line = (name: string, pick: (cost: Cost) => number) =>
    `| ${name} | ${f(model.idlePerLearner && pick(model.idlePerLearner) * 1000, 2)} | ${f(model.perKey && pick(model.perKey) * 1000, 3)} | ${f(model.perCommand && pick(model.perCommand) * 1000, 2)} | ${f(model.perCommandRealistic && pick(model.perCommandRealistic) * 1000, 2)} |`;
  for (const c of CLASSES) rows.push(line(c, (x) => x[c]));
  rows.push(line('boxlab (all but bench clients and other)', (x) => totalOf(x, BOXLAB)));
  rows.push('');
  rows.push(`check runs per command: heavy ${f(model.checksPerCommand, 2)}, realistic ${f(model.checksPerCommandRealistic, 2)}; CPU per check run (its cgroup and its exec helper): ${f(model.perCheck && model.perCheck * 1000, 2)} ms`);
  console.error(`bench: workshop cost model\n${rows.join('\n')}`);
}
