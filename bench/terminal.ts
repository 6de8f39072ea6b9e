// The terminal's figures, in one run against a real boxlab server in a process
// of its own: keystroke-to-echo latency (idle, and while 5 of 50 terminals
// flood), cat throughput to a headless xterm.js with flow control, Ctrl-C to
// prompt under a flood, server memory per flooding terminal, and the time a
// reconnecting client takes to get its screen back.
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import headless from '@xterm/headless';
import WebSocket from 'ws';
import { decodeServer, encodeClient, type ServerMessage } from '../server/terminal/protocol.js';
import type { BenchResult } from './result.js';
import { median, percentile, round } from './stats.js';
import type { FloodJob } from './flood-clients.js';
import { echoSamples, EchoProbe, newTerminal, openClient, startServerProcess, type ServerProcess, type Terminal } from './terminal-clients.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1e6;

async function idleEcho(server: ServerProcess): Promise<BenchResult[]> {
  const probe = await EchoProbe.open(await newTerminal(server));
  await echoSamples([probe], 40); // warm-up
  const samples = await echoSamples([probe], 500);
  probe.close();
  return [
    { name: 'terminal echo p50 (idle)', value: round(percentile(samples, 50), 3), unit: 'ms', target: '<= 1' },
    { name: 'terminal echo p99 (idle)', value: round(percentile(samples, 99), 3), unit: 'ms', target: '<= 5' },
  ];
}

async function throughput(server: ServerProcess): Promise<BenchResult[]> {
  const t = await newTerminal(server, 120, 40);
  const client = await openClient(t.learner, t.id, 120, 40);
  // 100 MiB of base64 text in lines of 100 characters, made before the clock starts
  const made = client.screen.waitFor('PREP-1-DONE');
  client.link.input('head -c 78643200 /dev/urandom | base64 -w 100 > /tmp/big; echo PREP-$((0+1))-DONE\r');
  await made;
  // the median of three runs: one run swings with whatever else the machine does
  const rates: number[] = [];
  for (let run = 1; run <= 3; run++) {
    const done = client.screen.waitFor(`CAT-${run}-END`);
    const from = client.link.offset;
    const started = performance.now();
    client.link.input(`cat /tmp/big; echo CAT-$((${run}+0))-END\r`);
    const ended = await done;
    rates.push((client.link.offset - from) / MB / ((ended - started) / 1000));
  }
  client.link.input('rm /tmp/big\r');
  await sleep(100);
  client.close();
  console.error(`bench: terminal throughput runs: ${rates.map((r) => round(r, 1)).join(', ')} MB/s`);
  return [{ name: 'terminal throughput (100 MiB cat, headless client, median of 3)', value: round(median(rates), 1), unit: 'MB/s', target: '>= 25' }];
}

async function ctrlC(server: ServerProcess): Promise<BenchResult[]> {
  const t = await newTerminal(server, 120, 40);
  const client = await openClient(t.learner, t.id, 120, 40);
  const samples: number[] = [];
  for (let i = 0; i < 21; i++) {
    const from = client.link.offset;
    client.link.input('yes\r');
    while (client.link.offset - from < 2 * 1024 * 1024) await sleep(5);
    const prompt = client.screen.waitFor('\x1b[0m# ');
    const sent = performance.now();
    client.link.input('\x03');
    const at = await prompt;
    if (i > 0) samples.push(at - sent); // the first is a warm-up
    await sleep(100);
  }
  client.close();
  return [
    { name: 'terminal Ctrl-C to prompt p50 (yes flood)', value: round(percentile(samples, 50)), unit: 'ms', target: '' },
    { name: 'terminal Ctrl-C to prompt p95 (yes flood)', value: round(percentile(samples, 95)), unit: 'ms', target: '<= 100' },
  ];
}

async function restore(server: ServerProcess): Promise<BenchResult[]> {
  const t = await newTerminal(server, 120, 40);
  const client = await openClient(t.learner, t.id, 120, 40);
  // a full screen plus 100 rows of scrollback, in colour
  const filled = client.screen.waitFor('FILL-1-DONE');
  client.link.input('ls -la --color=always /usr/bin /usr/lib/x86_64-linux-gnu | head -139; echo FILL-$((0+1))-DONE\r');
  await filled;
  client.close();
  await sleep(100);
  const samples: number[] = [];
  let snapshotBytes = 0;
  let rowsRestored = 0;
  for (let i = 0; i < 33; i++) {
    const started = performance.now();
    const ws = new WebSocket(t.learner.wsUrl(t.id), { headers: { cookie: t.learner.cookie, origin: t.learner.origin } });
    const term = new headless.Terminal({ cols: 120, rows: 40, scrollback: 1000, allowProposedApi: true });
    const restored = new Promise<number>((resolve) => {
      ws.on('message', (data: Buffer) => {
        const msg: ServerMessage = decodeServer(new Uint8Array(data));
        if (msg.type !== 'snapshot') return;
        snapshotBytes = msg.data.length;
        term.write(msg.data, () => resolve(performance.now()));
      });
    });
    ws.once('open', () => ws.send(encodeClient({ type: 'hello', cols: 120, rows: 40, role: 'viewer' })));
    const at = await restored;
    rowsRestored = term.buffer.active.length;
    if (i >= 3) samples.push(at - started); // three warm-ups
    ws.close();
    term.dispose();
  }
  if (rowsRestored < 140) throw new Error(`the snapshot restored ${rowsRestored} rows, not a screen and 100 rows of scrollback`);
  console.error(`bench: snapshot of ${rowsRestored} rows is ${snapshotBytes} bytes`);
  return [
    { name: 'terminal reconnect restore p50 (40 rows + 100 scrollback)', value: round(percentile(samples, 50)), unit: 'ms', target: '' },
    { name: 'terminal reconnect restore p95 (40 rows + 100 scrollback)', value: round(percentile(samples, 95)), unit: 'ms', target: '<= 50' },
  ];
}

/** 50 terminals in 50 sandboxes: 5 flood (their browsers in another process), the other 45 are typed in. */
export async function crowd(server: ServerProcess): Promise<BenchResult[]> {
  const rssEmpty = server.rss();
  const terminals: Terminal[] = [];
  for (let i = 0; i < 50; i++) terminals.push(await newTerminal(server));
  const flooders = terminals.slice(0, 5);
  const probes: EchoProbe[] = [];
  for (const t of terminals.slice(5)) probes.push(await EchoProbe.open(t));
  const job: FloodJob = { learners: flooders.map((t) => ({ cookie: t.learner.cookie, origin: t.learner.origin, base: server.url.replace(/^http/, 'ws'), terminal: t.id })) };
  const floods = fork(fileURLToPath(new URL('./flood-clients.ts', import.meta.url)), [JSON.stringify(job)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // the flooding browsers would be on learners' machines, not the server's: here they share its two
  // cores, so they run below it rather than take its CPU
  setPriority(floods.pid!, 10);
  const reply = () => new Promise<Record<string, number | boolean>>((resolve) => floods.once('message', resolve as (m: unknown) => void));
  await reply();
  await echoSamples(probes, 90); // warm-up
  await sleep(500);
  const rssIdle = server.rss();

  floods.send('start');
  await reply();
  await sleep(1500); // the floods get going
  let rssPeak = 0;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, server.rss())), 100);
  const floodStart = performance.now();
  const samples = await echoSamples(probes, 900);
  const slowest = [...samples].sort((a, b) => b - a).slice(0, 10);
  console.error(`bench: slowest echoes under floods: ${slowest.map((ms) => ms.toFixed(1)).join(' ')} ms`);
  await sleep(Math.max(0, 3000 - (performance.now() - floodStart)));
  clearInterval(sampler);
  floods.send('stop');
  const { received } = await reply();
  const floodSeconds = (performance.now() - floodStart + 1500) / 1000;
  await new Promise((resolve) => (floods.exitCode === null ? floods.once('exit', resolve) : resolve(undefined)));
  for (const p of probes) p.close();
  console.error(`bench: 5 floods moved ${round(Number(received) / MB / floodSeconds, 1)} MB/s in all to their clients`);
  return [
    { name: 'terminal echo p50 (45 idle of 50, 5 flooding)', value: round(percentile(samples, 50), 3), unit: 'ms', target: '' },
    { name: 'terminal echo p99 (45 idle of 50, 5 flooding)', value: round(percentile(samples, 99), 3), unit: 'ms', target: '<= 10' },
    { name: 'terminal server memory per idle terminal', value: round((rssIdle - rssEmpty) / 50 / MB), unit: 'MB', target: '' },
    { name: 'terminal server memory growth per flooding terminal', value: round(Math.max(0, rssPeak - rssIdle) / 5 / MB), unit: 'MB', target: '<= 10' },
  ];
}

export async function benchTerminal(): Promise<BenchResult[]> {
  // one benchmark client is one address: the per-address share is the edge suite's to measure
  const server = await startServerProcess('bench-terminal', ['--max-sandboxes', '64', '--sandboxes-per-address', '64', '--idle-timeout', '0']);
  const results: BenchResult[] = [];
  try {
    for (const [name, run] of [
      ['idle echo', idleEcho],
      ['throughput', throughput],
      ['Ctrl-C', ctrlC],
      ['restore', restore],
      ['50 terminals', crowd],
    ] as const) {
      console.error(`bench: terminal: ${name}...`);
      results.push(...(await run(server)));
    }
  } finally {
    await server.stop();
  }
  return results;
}
