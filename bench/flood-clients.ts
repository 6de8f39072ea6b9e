// A process of the terminal benchmark: browsers that flood. Each client parses
// its terminal's output with a headless xterm.js, as a browser would, in this
// process, so that the latency probe's event loop stays free. Driven over IPC.
import { openClient, type BenchClient } from './terminal-clients.js';

export interface FloodJob {
  learners: Array<{ cookie: string; origin: string; base: string; terminal: string }>;
}

const send = (msg: Record<string, unknown>) => process.send!(msg);
const job = JSON.parse(process.argv[2]!) as FloodJob;
const clients: BenchClient[] = [];
for (const l of job.learners) {
  clients.push(await openClient({ cookie: l.cookie, origin: l.origin, wsUrl: (id) => `${l.base}/ws/terminals/${id}` }, l.terminal));
}
send({ ready: true });
process.on('message', async (msg: 'start' | 'stop') => {
  if (msg === 'start') {
    for (const c of clients) c.link.input('yes\r');
    send({ started: true });
  } else {
    const prompts = clients.map((c) => c.screen.waitFor('\x1b[0m# '));
    for (const c of clients) c.link.input('\x03');
    await Promise.all(prompts);
    const received = clients.reduce((sum, c) => sum + c.link.offset, 0);
    for (const c of clients) c.close();
    send({ stopped: true, received });
    process.disconnect();
  }
});
