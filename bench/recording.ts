// What recording costs (issue 17): in one real server (a process of its own,
// `--record workshops`), a workshop member's lesson terminal, which is
// recorded, beside a self-paced learner's, which is not, measured in turns:
// keystroke-to-echo latency (p99) and cat throughput to a headless client; an
// A/A pair of two unrecorded terminals in the same server gives the noise
// floor. One process for both sides, since two servers of the same code
// differed by 6 % (a process's placement, heap and compiled code are its
// own). And, recorded, the disk a typical learner's hour takes (a scripted
// session typed at a person's pace: commands, their output, a pager, errors,
// extrapolated to an hour).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BenchResult } from './result.js';
import { median, percentile, round } from './stats.js';
import { echoSamples, EchoProbe, openClient, startServerProcess, type ServerProcess, type Terminal } from './terminal-clients.js';
import { Learner } from '../test/helpers/server.js';
import { CAST_EXT, CastRecorder } from '../server/recording/cast.js';
import { instructorCookie } from './workshop.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MB = 1e6;
const SCHED_IDLE = 5;
/**
 * A server's CPU time so far in ms (utime + stime, ticks of 10 ms), every
 * thread but its SCHED_IDLE mirror worker, which takes whatever idle CPU
 * there is whether recording or not; and the machine's busy time (every core,
 * /proc/stat).
 */
function cpuMs(pid: number): { server: number; loop: number; machine: number } {
  let server = 0;
  let loop = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat = '';
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // a thread that ended
    }
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[38]) === SCHED_IDLE) continue;
    const ms = (Number(f[11]) + Number(f[12])) * 10;
    server += ms;
    // the event loop apart from the rest (libuv's pool: compression, file writes; V8's: GC)
    if (tid === String(pid)) loop += ms;
  }
  const [, user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).map(Number);
  return { server, loop, machine: (user! + nice! + system! + irq! + softirq!) * 10 };
}

async function lessonTerminal(server: ServerProcess, cols = 80, rows = 24, learner?: Learner): Promise<Terminal> {
  learner ??= await Learner.visit(server.url);
  const res = await learner.fetch('/api/lessons/01-namespaces/start', { method: 'POST', body: '{}' });
  const { sandbox } = (await res.json()) as { sandbox: { id: string } };
  const id = (await learner.createTerminal(sandbox.id, { cols, rows })).id;
  return { learner, sandbox: sandbox.id, id };
}

interface Cat {
  /** Its MB, and its MB/s. */
  mb: number;
  rate: number;
  server: number;
  machine: number;
  /** The part of `server` that is its event loop. */
  loop: number;
}

/** The recording's last segment written after a cat, charged to it (the unrecorded side waits alike). */
const SETTLE_MS = 1500;

/** A cat of a 40 MiB base64 file into a headless client, ready to be run again and again. */
async function floodTerminal(server: ServerProcess, learner: Learner) {
  const t = await lessonTerminal(server, 120, 40, learner);
  const client = await openClient(t.learner, t.id, 120, 40);
  const made = client.screen.waitFor('PREP-1-DONE');
  client.link.input('head -c 39321600 /dev/urandom | base64 -w 100 > /tmp/big; echo PREP-$((0+1))-DONE\r');
  await made;
  let run = 0;
  return {
    /** One cat: its MB/s, and per MB the server's CPU and the machine's (until its recording is written). */
    async cat(): Promise<Cat> {
      const done = client.screen.waitFor(`CAT-${++run}-END`);
      const from = client.link.offset;
      const cpu = cpuMs(server.pid);
      const started = performance.now();
      client.link.input(`cat /tmp/big; echo CAT-$((${run}+0))-END\r`);
      const ended = await done;
      const mb = (client.link.offset - from) / MB;
      await sleep(SETTLE_MS);
      const now = cpuMs(server.pid);
      const per = (key: 'server' | 'loop' | 'machine') => (now[key] - cpu[key]) / mb;
      return { mb, rate: mb / ((ended - started) / 1000), server: per('server'), loop: per('loop'), machine: per('machine') };
    },
    close: () => client.close(),
  };
}

type Side = { echo: number; echoP50: number; rate: number; server: number; machine: number };

/** `pairs` pairs of cats, a side first in turns; the cost is the median of the pairs' ratios (the minutes that slowed one run of a pair slowed the other alike). */
async function catPairs(server: ServerProcess, learners: [Learner, Learner], pairs: number, label: string) {
  const floods = [await floodTerminal(server, learners[0]), await floodTerminal(server, learners[1])];
  const runs: Array<[Cat, Cat]> = [];
  try {
    for (let run = 0; run < pairs; run++) {
      const pair = [] as unknown as [Cat, Cat];
      for (const i of run % 2 ? [1, 0] : [0, 1]) pair[i] = await floods[i]!.cat();
      runs.push(pair);
    }
  } finally {
    for (const flood of floods) flood.close();
  }
  const list = (i: 0 | 1, key: keyof Cat) => runs.map((r) => round(r[i][key], 1)).join(', ');
  console.error(`bench: ${label} throughput runs: ${list(0, 'rate')} MB/s; beside: ${list(1, 'rate')} MB/s`);
  console.error(`bench: ${label} server CPU per MB: ${list(0, 'server')} ms; beside: ${list(1, 'server')} ms`);
  const byThread = (i: 0 | 1) => `event loop ${round(median(runs.map((r) => r[i].loop)), 2)}, other threads ${round(median(runs.map((r) => r[i].server - r[i].loop)), 2)}`;
  console.error(`bench: ${label} server CPU per MB by thread, medians: ${byThread(0)} ms; beside: ${byThread(1)} ms`);
  const side = (i: 0 | 1) => ({ rate: median(runs.map((r) => r[i].rate)), server: median(runs.map((r) => r[i].server)), machine: median(runs.map((r) => r[i].machine)) });
  return { off: side(0), on: side(1), cost: 100 * (1 - median(runs.map(([o, n]) => n.rate / o.rate))), mbBeside: runs.reduce((n, r) => n + r[1].mb, 0) };
}

/** A learner who has joined a workshop (so their terminals are recorded under `--record workshops`). */
async function workshopMember(server: ServerProcess): Promise<Learner> {
  const cookie = await instructorCookie(server, SECRET);
  const created = await fetch(`${server.url}/api/instructor/workshops`, { method: 'POST', headers: { cookie, origin: server.url, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Recording bench', lessons: ['01-namespaces'], capacity: 4 }) });
  if (created.status !== 201) throw new Error(`creating the workshop: ${created.status} ${await created.text()}`);
  const { code } = (await created.json()) as { code: string };
  const learner = await Learner.visit(server.url);
  const joined = await learner.fetch('/api/join', { method: 'POST', body: JSON.stringify({ code, name: 'recorded' }) });
  if (!joined.ok) throw new Error(`joining: ${joined.status} ${await joined.text()}`);
  return learner;
}

/** Unrecorded beside recorded in one server, in turns; and an A/A pair of unrecorded terminals for the noise floor. */
async function inTurns(server: ServerProcess, dir: string): Promise<{ off: Side; on: Side; cost: number; noise: number; echoNoise: number; kept: number }> {
  const plain = await Learner.visit(server.url);
  const member = await workshopMember(server);
  const other = await Learner.visit(server.url);
  // unrecorded, recorded, and a second unrecorded one: the echo's own A/A
  const probes = [await EchoProbe.open(await lessonTerminal(server, 80, 24, plain)), await EchoProbe.open(await lessonTerminal(server, 80, 24, member)), await EchoProbe.open(await lessonTerminal(server, 80, 24, other))];
  const echo: number[][] = [[], [], []];
  await echoSamples(probes, 60);
  for (let block = 0; block < 20; block++) {
    for (let k = 0; k < 3; k++) {
      const i = (block + k) % 3;
      echo[i]!.push(...(await echoSamples([probes[i]!], 100)));
    }
  }
  for (const probe of probes) probe.close();
  const spread = (xs: number[]) => [50, 90, 99, 99.9].map((q) => `p${q} ${round(percentile(xs, q), 2)}`).join(', ');
  for (const [i, name] of ['unrecorded', 'recorded', 'unrecorded (A/A)'].entries()) console.error(`bench: echo of the ${name} terminal, ms: ${spread(echo[i]!)}, max ${round(Math.max(...echo[i]!), 2)}`);
  const recorded = await catPairs(server, [plain, member], 16, 'recording off, on:');
  // the recorded terminal's every cat is on disk by now (SETTLE_MS): the share of a flood's bytes it keeps
  const kept = dirBytes(dir) / (recorded.mbBeside * MB);
  const aa = await catPairs(server, [plain, other], 8, 'A/A, neither recorded:');
  const p99 = (i: number) => percentile(echo[i]!, 99);
  return { off: { echo: p99(0), echoP50: percentile(echo[0]!, 50), ...recorded.off }, on: { echo: p99(1), echoP50: percentile(echo[1]!, 50), ...recorded.on }, cost: recorded.cost, noise: aa.cost, echoNoise: (100 * (p99(2) - p99(0))) / p99(0), kept };
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

const SECRET = 'bench-recording-instructor-secret-0123456789';

/** A server in a process of its own, recording with `mode` into a folder of its own. */
async function recordingServer(mode: string): Promise<{ server: ServerProcess; dir: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-bench-rec-'));
  // caps out of the way: the cost of recording every byte is what is measured
  const server = await startServerProcess(`bench-rec-${mode}`, ['--record', mode, '--record-dir', dir, '--database', path.join(dir, 'bench.db'), '--record-terminal-size', '4g', '--record-learner-size', '8g', '--instructor-secret', SECRET]);
  return {
    server,
    dir,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function withServer<T>(mode: string, fn: (server: ServerProcess, dir: string) => Promise<T>): Promise<T> {
  const s = await recordingServer(mode);
  try {
    return await fn(s.server, s.dir);
  } finally {
    await s.stop();
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
 * Median of three after a warm-up.
 */
export async function benchRecorderCpu(): Promise<number> {
  await recorderCpu(); // a server's recorder is warm: compiled, its compressor's tables made
  return median([await recorderCpu(), await recorderCpu(), await recorderCpu()]);
}

async function recorderCpu(): Promise<number> {
  const text = Buffer.from(randomBytes(24 * 1024 * 1024).toString('base64').replace(/(.{100})/g, '$1\r\n'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-bench-rec-cpu-'));
  try {
    const rec = new CastRecorder({ file: path.join(dir, `flood${CAST_EXT}`), cols: 120, rows: 40, maxBytes: 1e12 });
    const batches: Uint8Array[] = [];
    for (let i = 0; i < text.length; i += 65536) batches.push(new Uint8Array(text.subarray(i, i + 65536)));
    const before = process.cpuUsage();
    for (const [i, batch] of batches.entries()) {
      rec.output(batch);
      if (i % 16 === 15) await rec.flush(); // a disk that keeps up, as a server's does
    }
    rec.end();
    await rec.flush();
    if (rec.stopped) throw new Error(`the recorder stopped: ${rec.stopped}`);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000 / (text.length / MB);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What recording adds to a keystroke. On its path, in the event loop: the
 * typed byte and its echo noted (µs of wall time, the loop doing nothing
 * else); the echo p99 beside an unrecorded terminal cannot resolve a few per
 * cent (two unrecorded ones differ by tens of per cent), this work against the
 * echo's median bounds it. Off its path: the second's segment compressed and
 * written (µs of CPU, every thread, a segment of 8 keys: a fast typist's second).
 */
export async function benchRecorderKeystroke(): Promise<{ noted: number; segment: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'boxlab-bench-rec-key-'));
  try {
    const keys = 'ls -la /proc/self/ns\r'.split('').map((c) => Buffer.from(c));
    const echo = (key: Buffer) => (key[0] === 0x0d ? Buffer.from('\r\n') : key);
    const recorder = (name: string, flushBytes: number) => new CastRecorder({ file: path.join(dir, `${name}${CAST_EXT}`), cols: 80, rows: 24, maxBytes: 1e12, flushBytes, flushMs: 3_600_000 });
    const noted = async (n: number) => {
      const rec = recorder(`noted-${n}`, 1024 * 1024);
      const started = performance.now();
      for (let i = 0; i < n; i++) {
        rec.input(keys[i % keys.length]!);
        rec.output(echo(keys[i % keys.length]!));
      }
      const us = ((performance.now() - started) * 1000) / n;
      rec.discard();
      return us;
    };
    const segment = async (n: number) => {
      const rec = recorder(`segments-${n}`, 1e9);
      const before = process.cpuUsage();
      for (let i = 0; i < n * 8; i++) {
        rec.input(keys[i % keys.length]!);
        rec.output(echo(keys[i % keys.length]!));
        if (i % 8 === 7) await rec.flush();
      }
      const used = process.cpuUsage(before);
      rec.end();
      await rec.flush();
      return (used.user + used.system) / n;
    };
    await noted(50_000);
    await segment(500);
    return { noted: median([await noted(200_000), await noted(200_000), await noted(200_000)]), segment: median([await segment(3000), await segment(3000), await segment(3000)]) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchRecording(): Promise<BenchResult[]> {
  const cpu = await benchRecorderCpu();
  const perKey = await benchRecorderKeystroke();
  const { off, on, cost, noise, echoNoise, kept } = await withServer('workshops', (server, dir) => inTurns(server, dir));
  const hour = await benchRecordingDisk();
  return [
    { name: 'recording off: terminal echo p99 (lesson terminal)', value: round(off.echo, 3), unit: 'ms', target: '' },
    { name: 'recording on: terminal echo p99 (lesson terminal)', value: round(on.echo, 3), unit: 'ms', target: '' },
    { name: 'recording: echo p99 difference, recorded against unrecorded', value: round((100 * (on.echo - off.echo)) / off.echo, 1), unit: '%', target: '' },
    { name: 'recording: A/A echo p99 difference (two unrecorded terminals, 2000 keys each)', value: round(echoNoise, 1), unit: '%', target: '' },
    { name: 'recording: recorder work on a keystroke\'s path (the key and its echo noted)', value: round(perKey.noted, 2), unit: 'µs', target: '' },
    { name: 'recording: echo cost (that work, of the unrecorded echo p50)', value: round((100 * perKey.noted) / 1000 / off.echoP50, 2), unit: '%', target: '<= 5' },
    { name: 'recording: CPU of a typing second\'s segment (8 keys, compressed and written)', value: round(perKey.segment, 1), unit: 'µs', target: '' },
    { name: 'recording off: throughput (40 MiB cat, median of 16)', value: round(off.rate, 1), unit: 'MB/s', target: '' },
    { name: 'recording on: throughput (40 MiB cat, median of 16)', value: round(on.rate, 1), unit: 'MB/s', target: '' },
    { name: 'recording: throughput cost (median of the pairs\' ratios)', value: round(cost, 1), unit: '%', target: '<= 5' },
    { name: 'recording: A/A throughput difference (two unrecorded terminals, median of 8 pairs)', value: round(noise, 1), unit: '%', target: '' },
    { name: 'recording off: server CPU per MB of the cat (but its mirror)', value: round(off.server, 1), unit: 'ms', target: '' },
    { name: 'recording on: server CPU per MB of the cat (but its mirror)', value: round(on.server, 1), unit: 'ms', target: '' },
    { name: 'recording off: machine CPU per MB of the cat', value: round(off.machine, 1), unit: 'ms', target: '' },
    { name: 'recording on: machine CPU per MB of the cat', value: round(on.machine, 1), unit: 'ms', target: '' },
    { name: 'recording: CPU cost (the server\'s added CPU per MB, of the machine\'s)', value: round((100 * (on.server - off.server)) / off.machine, 1), unit: '%', target: '<= 5' },
    { name: 'recording: recorder CPU per MB of a base64 flood', value: round(cpu, 1), unit: 'ms', target: '' },
    { name: 'recording: share of the cats\' bytes on disk (the rest only scrolled by)', value: round(100 * kept, 1), unit: '%', target: '' },
    { name: 'recording: disk per learner-hour (typical session)', value: round(hour / 1024, 1), unit: 'KiB', target: '' },
  ];
}
