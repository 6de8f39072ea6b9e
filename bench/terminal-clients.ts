// Terminal clients for the benchmarks: the page's TerminalLink driving a
// headless xterm.js (so output is parsed and acknowledged as a browser would),
// with a cheap way to notice a marker in the output without rescanning the
// screen; and a boxlab server in a process of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import headless from '@xterm/headless';
import WebSocket from 'ws';
import { DIST_DIR } from '../server/paths.js';
import { TerminalLink, type LinkScreen, type SocketLike } from '../web/terminal/link.js';
import { decodeServer, encodeClient, type ClientMessage } from '../server/terminal/protocol.js';
import { Learner } from '../test/helpers/server.js';

const { Terminal } = headless;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A headless xterm.js that reports when a marker has been parsed (the moment a learner would see it). */
export class MarkerScreen implements LinkScreen {
  readonly term: InstanceType<typeof Terminal>;
  private tail = '';
  private waiters: Array<{ marker: string; resolve: (at: number) => void }> = [];

  constructor(cols: number, rows: number) {
    this.term = new Terminal({ cols, rows, scrollback: 1000, allowProposedApi: true });
  }

  get cols(): number {
    return this.term.cols;
  }

  get rows(): number {
    return this.term.rows;
  }

  write(data: Uint8Array | string, callback?: () => void): void {
    const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
    const window = this.tail + text;
    this.tail = window.slice(-64);
    const found = this.waiters.filter((w) => window.includes(w.marker));
    this.waiters = this.waiters.filter((w) => !found.includes(w));
    this.term.write(data, () => {
      callback?.();
      const at = performance.now();
      for (const w of found) w.resolve(at);
    });
  }

  resize(cols: number, rows: number): void {
    this.term.resize(cols, rows);
  }

  /** Resolves with the time the next output holding `marker` (latin1 bytes) was parsed. */
  waitFor(marker: string): Promise<number> {
    return new Promise((resolve) => this.waiters.push({ marker, resolve }));
  }

  dispose(): void {
    this.term.dispose();
  }
}

export interface BenchClient {
  link: TerminalLink;
  screen: MarkerScreen;
  close(): void;
}

export async function openClient(learner: { cookie: string; origin: string; wsUrl(id: string): string }, terminalId: string, cols = 80, rows = 24): Promise<BenchClient> {
  const screen = new MarkerScreen(cols, rows);
  const prompt = screen.waitFor('# ');
  const link = new TerminalLink({
    url: learner.wsUrl(terminalId),
    screen,
    connect: (url) => new WebSocket(url, { headers: { cookie: learner.cookie, origin: learner.origin } }) as unknown as SocketLike,
  });
  await prompt;
  return {
    link,
    screen,
    close() {
      link.close();
      screen.dispose();
    },
  };
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Resident memory of the server process, in bytes. */
  rss(): number;
  stop(): Promise<void>;
}

/** Starts `boxlab serve` from dist/ in a process of its own (its event loop is not the benchmark's). */
export async function startServerProcess(instance: string, extraArgs: string[] = []): Promise<ServerProcess> {
  const child: ChildProcess = spawn(
    process.execPath,
    // BOXLAB_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=DIR': flags for the servers' node (a profile of a run)
    [...(process.env.BOXLAB_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), path.join(DIST_DIR, 'server', 'cli.js'), 'serve', '--port', '0', '--host', '127.0.0.1', '--instance', instance, '--log-level', 'info', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      for (const line of buffered.split('\n')) {
        if (!line.includes('boxlab is listening')) continue;
        resolve((JSON.parse(line) as { url: string }).url);
      }
      buffered = buffered.slice(buffered.lastIndexOf('\n') + 1);
    });
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
  });
  child.stdout!.resume();
  // interrupted, the benchmark still ends its server (and so the server's sandboxes)
  const interrupted = (signal: NodeJS.Signals) => {
    child.once('exit', () => process.exit(130));
    child.kill('SIGTERM');
    process.off(signal, interrupted);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // and if the benchmark crashes, the server does not outlive it
  const orphaned = () => child.kill('SIGTERM');
  process.once('exit', orphaned);
  return {
    url,
    pid: child.pid!,
    rss: () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) * 1024,
    stop: () =>
      new Promise<void>((resolve) => {
        process.off('SIGINT', interrupted);
        process.off('SIGTERM', interrupted);
        process.off('exit', orphaned);
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface Terminal {
  learner: Learner;
  sandbox: string;
  id: string;
}

export async function newTerminal(server: ServerProcess, cols = 80, rows = 24): Promise<Terminal> {
  const learner = await Learner.visit(server.url);
  const sandbox = (await learner.createSandbox()).id;
  const id = (await learner.createTerminal(sandbox, { cols, rows })).id;
  return { learner, sandbox, id };
}

/** A bare client that times keystroke echoes: it acknowledges output at once and parses nothing. */
export class EchoProbe {
  private waiting: ((at: number) => void) | undefined;
  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const msg = decodeServer(new Uint8Array(data));
      if (msg.type !== 'output') return;
      const at = performance.now();
      this.send({ type: 'ack', bytes: msg.data.length });
      const waiting = this.waiting;
      this.waiting = undefined;
      waiting?.(at);
    });
  }

  static async open(t: Terminal): Promise<EchoProbe> {
    const ws = new WebSocket(t.learner.wsUrl(t.id), { headers: { cookie: t.learner.cookie, origin: t.learner.origin } });
    const snapshot = new Promise<void>((resolve) => ws.on('message', (data: Buffer) => data[0] === 0x01 && resolve()));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const probe = new EchoProbe(ws);
    probe.send({ type: 'hello', cols: 80, rows: 24 });
    await snapshot;
    await sleep(50); // the prompt's last bytes
    return probe;
  }

  send(msg: ClientMessage): void {
    this.ws.send(encodeClient(msg));
  }

  /** Milliseconds from sending a key to the first output after it (its echo). */
  async keystroke(key: string): Promise<number> {
    const echoed = new Promise<number>((resolve) => (this.waiting = resolve));
    const sent = performance.now();
    this.send({ type: 'input', data: new TextEncoder().encode(key) });
    return (await echoed) - sent;
  }

  close(): void {
    this.ws.close();
  }
}

/** Types x, backspace, x, backspace... and times each echo. */
export async function echoSamples(probes: EchoProbe[], count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const probe = probes[i % probes.length]!;
    const key = Math.floor(i / probes.length) % 2 === 0 ? 'x' : '\x7f';
    samples.push(await probe.keystroke(key));
    await sleep(2);
  }
  return samples;
}

export type { Learner };
