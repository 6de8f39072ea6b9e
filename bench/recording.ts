// What recording costs (issue 17): against a real server in a process of its
// own, once with `--record none` and once with `--record all`, a lesson
// terminal's keystroke-to-echo latency (p99) and cat throughput to a headless
// client; and, recorded, the disk a typical learner's hour takes (a scripted
// session typed at a person's pace: commands, their output, a pager, errors,
// extrapolated to an hour).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './result.js';
import { median, percentile, round } from './stats.js';
import { echoSamples, EchoProbe, openClient, startServerProcess, type ServerProcess, type Terminal } from './terminal-clients.js';
import { Learner } from '../test/helpers/server.js';
import { CAST_EXT, CastRecorder } from '../server/recording/cast.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1e6;

async function lessonTerminal(server: ServerProcess, cols = 80, rows = 24): Promise<Terminal> {
  const learner = await Learner.visit(server.url);
  const res = await learner.fetch('/api/lessons/01-namespaces/start', { method: 'POST', body: '{}' });
  const { sandbox } = (await res.json()) as { sandbox: { id: string } };
  const id = (await learner.createTerminal(sandbox.id, { cols, rows })).id;
  return { learner, sandbox: sandbox.id, id };
}

async function echoP99(server: ServerProcess): Promise<number> {
  const probe = await EchoProbe.open(await lessonTerminal(server));
  await echoSamples([probe], 40);
  const samples = await echoSamples([probe], 1000);
  probe.close();
  return percentile(samples, 99);
}

async function throughput(server: ServerProcess): Promise<number> {
  const t = await lessonTerminal(server, 120, 40);
  const client = await openClient(t.learner, t.id, 120, 40);
  const made = client.screen.waitFor('PREP-1-DONE');
  client.link.input('head -c 39321600 /dev/urandom | base64 -w 100 > /tmp/big; echo PREP-$((0+1))-DONE\r');
  await made;
  const rates: number[] = [];
  for (let run = 1; run <= 5; run++) {
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
  console.error(`bench: recording throughput runs: ${rates.map((r) => round(r, 1)).join(', ')} MB/s`);
  return median(rates);
}

/** A learner's few minutes: commands typed a key at a time, with the pauses of someone reading. */
async function typicalSession(server: ServerProcess): Promise<number> {
  const t = await lessonTerminal(server, 120, 32);
  const client = await openClient(t.learner, t.id, 120, 32);
  const commands = [
    'ls -la /', 'cat /etc/os-release', 'ps aux', 'ls -l /proc/self/ns', 'readlink /proc/$$/ns/uts', 'hostname', 'unshare --uts bash -c "hostname inner; hostname"',
    'ip addr', 'ls /sys/fs/cgroup | head -30', 'cat /proc/self/cgroup', 'mount | head -20', 'df -h', 'man unshare | head -60', 'lsns', 'nonexistent-command', 'history | tail -5',
  ];
  const started = performance.now();
  let n = 0;
  for (const command of commands) {
    for (const ch of command) {
      client.link.input(ch);
      await sleep(90);
    }
    const done = client.screen.waitFor(`DONE-${++n}-`);
    client.link.input(`; echo DONE-${n}-$((1))\r`);
    await done;
    await sleep(4000); // reading what it printed
  }
  const seconds = (performance.now() - started) / 1000;
  client.close();
  return seconds;
}

async function withServer<T>(mode: string, fn: (server: ServerProcess, dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-bench-rec-'));
  // caps out of the way: the cost of recording every byte is what is measured
  const server = await startServerProcess(`bench-rec-${mode}`, ['--record', mode, '--record-dir', dir, '--database', path.join(dir, 'bench.db'), '--record-terminal-size', '4g', '--record-learner-size', '8g']);
  try {
    return await fn(server, dir);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The recordings' bytes (the server's database shares the folder and is not counted). */
const dirBytes = (dir: string) => readdirSync(dir).filter((f) => f.endsWith(CAST_EXT)).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);

/** Disk per learner-hour alone (it needs no quiet machine). */
export async function benchRecordingDisk(): Promise<number> {
  return withServer('all', async (server, dir) => {
    const seconds = await typicalSession(server);
    await sleep(1500); // the last batch written
    console.error(`bench: typical session of ${round(seconds)} s recorded in ${dirBytes(dir)} bytes`);
    return (dirBytes(dir) / seconds) * 3600;
  });
}

/**
 * The recorder's own CPU (every thread: the event loop's lines and libuv's
 * compression) per MB of a base64 flood in the session's 64 KiB batches, in
 * this process: what a flood takes from the cores beside the terminal, a
 * figure a loaded machine skews far less than the throughput beside it.
 */
export async function benchRecorderCpu(): Promise<number> {
  const text = Buffer.from(randomBytes(24 * 1024 * 1024).toString('base64').replace(/(.{100})/g, '$1\r\n'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-bench-rec-cpu-'));
  try {
    const rec = new CastRecorder({ file: path.join(dir, `flood${CAST_EXT}`), cols: 120, rows: 40, maxBytes: 1e12 });
    const batches: Uint8Array[] = [];
    for (let i = 0; i < text.length; i += 65536) batches.push(new Uint8Array(text.subarray(i, i + 65536)));
    const before = process.cpuUsage();
    for (const [i, batch] of batches.entries()) {
      rec.output(batch);
      if (i % 16 === 15) await new Promise((resolve) => setImmediate(resolve));
    }
    rec.end();
    await rec.flush();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / (text.length / MB);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRecording(): Promise<BenchResult[]> {
  const cpu = await benchRecorderCpu();
  const off = await withServer('none', async (server) => ({ echo: await echoP99(server), rate: await throughput(server) }));
  const on = await withServer('all', async (server) => ({ echo: await echoP99(server), rate: await throughput(server) }));
  const hour = await benchRecordingDisk();
  const cost = (100 * (off.rate - on.rate)) / off.rate;
  return [
    { name: 'recording off: terminal echo p99 (lesson terminal)', value: round(off.echo, 3), unit: 'ms', target: '' },
    { name: 'recording on: terminal echo p99 (lesson terminal)', value: round(on.echo, 3), unit: 'ms', target: '<= 5' },
    { name: 'recording off: throughput (40 MiB cat, median of 5)', value: round(off.rate, 1), unit: 'MB/s', target: '' },
    { name: 'recording on: throughput (40 MiB cat, median of 5)', value: round(on.rate, 1), unit: 'MB/s', target: '' },
    { name: 'recording: throughput cost', value: round(cost, 1), unit: '%', target: '<= 5' },
    { name: 'recording: recorder CPU per MB of a base64 flood', value: round(cpu, 1), unit: 'ms', target: '' },
    { name: 'recording: disk per learner-hour (typical session)', value: round(hour / 1024, 1), unit: 'KiB', target: '' },
  ];
}
