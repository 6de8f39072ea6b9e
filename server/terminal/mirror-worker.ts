// The worker thread behind mirror.ts: holds a headless xterm.js per terminal,
// fed with everything the terminal printed, and serialises its screen and
// scrollback on request. Parsing a flood costs a core; here it never delays
// the server's event loop, and so never a learner's keystroke echo. What
// arrives while a mirror is parsing waits in its queue and is parsed as one
// batch, and a batch that floods skips the lines that would only scroll away
// (elide.ts).
import headless from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { atPlainGround, findElision, linesToKeep } from './elide.js';
import type { MirrorReply, MirrorRequest } from './mirror.js';

const { Terminal } = headless;

type Job = { op: 'write'; data: Uint8Array } | { op: 'resize'; cols: number; rows: number } | { op: 'snapshot'; request: number };

interface Mirror {
  id: number;
  term: InstanceType<typeof Terminal>;
  serializer: SerializeAddon;
  scrollback: number;
  /** Which opening of this mirror it is (a broken one is opened again): its replies say so. */
  generation: number;
  /** In order: what arrived while the terminal was parsing. */
  queue: Job[];
  parsing: boolean;
  closed: boolean;
}

/** Batches smaller than this are parsed whole: looking for lines to skip would not pay. */
const ELIDE_FROM = 64 * 1024;

// Background work. A nice value only ranks threads within one cgroup (or, with
// autogroup, one session), while learners' shells run in the sandboxes' cgroups:
// at nice 10 this thread still took CPU that a woken shell was waiting for (the
// echo tail while terminals flood). SCHED_IDLE is the policy the scheduler
// preempts for any ordinary task that wakes, whatever its cgroup. Node has no
// call for it: util-linux's chrt sets it; nice 10 stays where chrt cannot.
try {
  const tid = Number(readlinkSync('/proc/thread-self').split('/').at(-1));
  if (tid > 0) {
    setPriority(tid, 10);
    execFile('chrt', ['--idle', '--pid', '0', String(tid)], () => {});
  }
} catch {
  // not Linux, or not allowed: same priority then
}

const port = parentPort!;
const mirrors = new Map<number, Mirror>();
const reply = (msg: MirrorReply) => port.postMessage(msg);

port.on('message', (msg: MirrorRequest) => {
  try {
    handle(msg);
  } catch (err) {
    reply({ op: 'failed', id: msg.id, message: (err as Error).message });
  }
});

function handle(msg: MirrorRequest): void {
  if (msg.op === 'open') {
    const term = new Terminal({ cols: msg.cols, rows: msg.rows, scrollback: msg.scrollback, allowProposedApi: true });
    const serializer = new SerializeAddon();
    term.loadAddon(serializer);
    mirrors.get(msg.id)?.term.dispose();
    mirrors.set(msg.id, { id: msg.id, term, serializer, scrollback: msg.scrollback, generation: msg.generation, queue: [], parsing: false, closed: false });
    return;
  }
  const mirror = mirrors.get(msg.id);
  switch (msg.op) {
    case 'write':
      if (!mirror) return reply({ op: 'parsed', id: msg.id, generation: -1, bytes: msg.data.length, skipped: 0, from: 0 });
      mirror.queue.push({ op: 'write', data: msg.data });
      break;
    case 'resize':
      mirror?.queue.push({ op: 'resize', cols: msg.cols, rows: msg.rows });
      break;
    case 'snapshot':
      if (!mirror) return reply({ op: 'snapshot', id: msg.id, request: msg.request, data: '' });
      mirror.queue.push({ op: 'snapshot', request: msg.request });
      break;
    case 'close':
      if (!mirror) return;
      mirror.closed = true;
      mirror.term.dispose();
      mirrors.delete(msg.id);
      return;
  }
  if (mirror) pump(mirror);
}

/** Works through the mirror's queue: resizes and snapshots in their place, the writes between them as one batch. */
function pump(mirror: Mirror): void {
  while (!mirror.parsing && !mirror.closed && mirror.queue.length > 0) {
    const job = mirror.queue[0]!;
    if (job.op === 'resize') {
      mirror.queue.shift();
      mirror.term.resize(job.cols, job.rows);
    } else if (job.op === 'snapshot') {
      mirror.queue.shift();
      let data: string;
      try {
        data = mirror.serializer.serialize();
      } catch (err) {
        // the main thread rejects the snapshot and opens this mirror again
        return reply({ op: 'failed', id: mirror.id, request: job.request, message: (err as Error).message });
      }
      reply({ op: 'snapshot', id: mirror.id, request: job.request, data });
    } else {
      let end = 0;
      while (end < mirror.queue.length && mirror.queue[end]!.op === 'write') end++;
      const chunks = mirror.queue.splice(0, end).map((j) => (j as { data: Uint8Array }).data);
      parse(mirror, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    }
  }
}

/** Parses one batch, skipping what may be skipped; replies once it is parsed, then goes on with the queue. */
function parse(mirror: Mirror, data: Uint8Array): void {
  mirror.parsing = true;
  const term = mirror.term;
  const done = (skipped: number, from = 0) => {
    mirror.parsing = false;
    if (mirror.closed) return;
    reply({ op: 'parsed', id: mirror.id, generation: mirror.generation, bytes: data.length, skipped, from });
    pump(mirror);
  };
  const elision = data.length >= ELIDE_FROM ? findElision(data, linesToKeep(term.rows, mirror.scrollback)) : undefined;
  if (!elision) return term.write(data, () => done(0));
  term.write(data.subarray(0, elision.start), () => {
    if (mirror.closed) return done(0);
    // only now can the terminal tell whether it is where skipping is exact
    const skip = atPlainGround(term);
    term.write(data.subarray(skip ? elision.end : elision.start), () => done(skip ? elision.end - elision.start : 0, elision.start));
  });
}
