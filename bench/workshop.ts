// A workshop under load, against a real boxlab server in a process of its
// own: an instructor's dashboard open, N simulated learners (default 100) who
// join by code, start the namespaces lesson (a sandbox each), open its
// terminal (a bare protocol client) and the live learner channel, and type a
// command every few seconds, a key at a time, which the auto-checker checks;
// half way through, each types the first exercise's solution. Figures: errors,
// keystroke echo, check result latency (Enter to the result on the learner's
// channel), dashboard update latency (that result to the instructor's grid),
// server CPU and memory, memory per sandbox.
// BOXLAB_BENCH_LEARNERS and BOXLAB_BENCH_WORKSHOP_SECONDS (default 180) size it.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { detectCgroups } from '../server/sandbox/cgroups.js';
import { decodeServer, encodeClient, type ClientMessage } from '../server/terminal/protocol.js';
import type { DashboardMessage } from '../server/contracts/dashboard.js';
import { Learner } from '../test/helpers/server.js';
import type { BenchResult } from './result.js';
import { percentile, round } from './stats.js';
import { startServerProcess, type ServerProcess } from './terminal-clients.js';

const INSTANCE = 'bench-workshop';
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

  /** Types `line` a key at a time (timing each echo), then Enter, then waits for the check's result. */
  async command(line: string, collect: boolean): Promise<void> {
    for (const ch of line) {
      const echoed = new Promise<number | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 5000);
        this.echoWaiter = (at) => (clearTimeout(timer), resolve(at));
      });
      const sent = performance.now();
      this.send({ type: 'input', data: new TextEncoder().encode(ch) });
      const at = await echoed;
      if (at === undefined) this.figures.errors.push(`${this.name}: no echo of a key within 5 s`);
      else if (collect) this.figures.echo.push(at - sent);
      await sleep(jitter(40, 120)); // a person typing
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
    else if (collect) (got.status === 'done' ? this.figures.checkPass : this.figures.checkFail).push(got.at - entered);
  }

  close(): void {
    this.closing = true;
    this.ws?.close();
    this.channel?.close();
  }
}

function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime, stime
}

function machineBusy(): { busy: number; total: number } {
  const [, ...v] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3]! - v[4]!, total };
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

async function instructorCookie(server: ServerProcess): Promise<string> {
  const res = await fetch(`${server.url}/api/instructor/login`, { method: 'POST', headers: { 'content-type': 'application/json', origin: server.url }, body: JSON.stringify({ secret: SECRET }) });
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
    const cpu0 = cpuTicks(server.pid);
    const machine0 = machineBusy();
    const started = performance.now();
    const deadline = started + seconds * 1000;
    const sampler = setInterval(() => rssSamples.push(server.rss()), 1000);
    let commands = 0;
    await Promise.all(
      learners.map(async (l, i) => {
        await sleep(jitter(0, 4000));
        for (let n = 0; performance.now() < deadline; n++) {
          const half = performance.now() - started > (seconds * 1000) / 2;
          const line = half && !l.solved ? SOLUTION : `echo step-${i}-${n}`;
          if (line === SOLUTION) l.solved = true;
          await l.command(line, true);
          commands++;
          await sleep(jitter(2000, 5000));
        }
      }),
    );
    clearInterval(sampler);
    const elapsed = (performance.now() - started) / 1000;
    const cpu = ((cpuTicks(server.pid) - cpu0) / 100 / elapsed) * 100;
    const machine1 = machineBusy();
    const machineCpu = ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100;
    const perSandbox = sandboxMemory();
    await sleep(500);

    const grid = await (await fetch(`${server.url}/api/instructor/workshops/${workshop.id}/export.json`, { headers })).json() as { records: Array<{ exercise: string; completedAt: string | null }> };
    const completed = grid.records.filter((r) => r.exercise === EXERCISE && r.completedAt !== null).length;
    if (completed < learners.length) figures.errors.push(`${learners.length - completed} learners' solutions were not recorded as completed`);
    for (const e of figures.errors.slice(0, 20)) console.error(`bench: workshop error: ${e}`);
    console.error(`bench: workshop: ${commands} commands, ${figures.echo.length} keystrokes, ${dashboardMessages} dashboard messages, ${completed} completions`);

    const MB = 1024 * 1024;
    return [
      { name: `workshop: learners joined and running (of ${count})`, value: learners.length, unit: '', target: `>= ${count}` },
      { name: 'workshop: join + lesson start + terminal, all learners', value: round(joinSeconds, 1), unit: 's', target: '' },
      { name: `workshop: errors (${seconds} s)`, value: figures.errors.length, unit: '', target: '<= 0' },
      { name: 'workshop: keystroke echo p50', value: round(percentile(figures.echo, 50), 2), unit: 'ms', target: '' },
      { name: 'workshop: keystroke echo p99', value: round(percentile(figures.echo, 99), 2), unit: 'ms', target: '<= 10' },
      { name: 'workshop: check result p50, passing (Enter to result)', value: round(percentile(figures.checkPass, 50)), unit: 'ms', target: '' },
      { name: 'workshop: check result p95, passing (Enter to result)', value: round(percentile(figures.checkPass, 95)), unit: 'ms', target: '' },
      { name: 'workshop: check result p50, failing (Enter to result)', value: round(percentile(figures.checkFail, 50)), unit: 'ms', target: '' },
      { name: 'workshop: check result p95, failing (Enter to result)', value: round(percentile(figures.checkFail, 95)), unit: 'ms', target: '' },
      { name: 'workshop: dashboard update p50 (result to grid)', value: round(percentile(figures.dashboard, 50)), unit: 'ms', target: '' },
      { name: 'workshop: dashboard update p95 (result to grid)', value: round(percentile(figures.dashboard, 95)), unit: 'ms', target: '<= 1000' },
      { name: 'workshop: server CPU (of one core)', value: round(cpu, 1), unit: '%', target: '' },
      { name: 'workshop: machine CPU busy (2 cores, all processes)', value: round(machineCpu, 1), unit: '%', target: '' },
      { name: 'workshop: server RSS max', value: round(Math.max(...rssSamples) / MB, 1), unit: 'MiB', target: '' },
      { name: 'workshop: memory per sandbox (cgroup, mean)', value: round(perSandbox.reduce((a, b) => a + b, 0) / Math.max(1, perSandbox.length) / MB, 1), unit: 'MiB', target: '' },
    ];
  } finally {
    for (const l of learners) l.close();
    dash?.removeAllListeners('close');
    dash?.close();
    await server.stop();
  }
}
