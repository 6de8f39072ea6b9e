// The worker thread behind mirror.ts: holds a headless xterm.js per terminal,
// fed with everything the terminal printed, and serialises its screen and
// scrollback on request. Parsing a flood costs a core; here it never delays
// the server's event loop, and so never a learner's keystroke echo.
import headless from '@xterm/headless';
import { SerializeAddon } from '@xterm/addon-serialize';
import { execFile } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import type { MirrorReply, MirrorRequest } from './mirror.js';

const { Terminal } = headless;

interface Mirror {
  term: InstanceType<typeof Terminal>;
  serializer: SerializeAddon;
}

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
    mirrors.set(msg.id, { term, serializer });
    return;
  }
  const mirror = mirrors.get(msg.id);
  switch (msg.op) {
    case 'write': {
      const bytes = msg.data.length;
      if (!mirror) return reply({ op: 'parsed', id: msg.id, bytes });
      mirror.term.write(msg.data, () => reply({ op: 'parsed', id: msg.id, bytes }));
      return;
    }
    case 'resize':
      // write('') queues the resize behind the data already written, where it happened
      mirror?.term.write('', () => mirror.term.resize(msg.cols, msg.rows));
      return;
    case 'snapshot':
      if (!mirror) return reply({ op: 'snapshot', id: msg.id, request: msg.request, data: '' });
      // the callback runs once everything written before this request is parsed
      mirror.term.write('', () => reply({ op: 'snapshot', id: msg.id, request: msg.request, data: mirror.serializer.serialize() }));
      return;
    case 'close':
      mirror?.term.dispose();
      mirrors.delete(msg.id);
      return;
  }
}
