// A process of the edge benchmark: the hostile client, on a machine of its
// own in a real room, here a process of its own (at a lower priority, as the
// terminal benchmark's flooders), so that the honest learner's probe keeps its
// event loop. It rotates its cookie for sandboxes and holds idle sockets until
// told to stop, then reports. Driven over IPC.
import net from 'node:net';
import { Learner } from '../test/helpers/server.js';

const [url, sockets] = [process.argv[2]!, Number(process.argv[3])];
const held: net.Socket[] = [];
const { port } = new URL(url);
for (let i = 0; i < sockets; i++) {
  const s = net.connect({ host: '127.0.0.1', port: Number(port), localAddress: '127.0.0.4' });
  s.on('error', () => {});
  held.push(s);
}
let stop = false;
let visits = 0;
let got = 0;
process.on('message', () => (stop = true));
process.send!({ ready: true });
while (!stop) {
  visits++;
  // a new cookie for every request: a new learner, as far as the server could tell before
  const visitor = await Learner.visit(url, '127.0.0.3').catch(() => undefined);
  const r = visitor && (await visitor.fetch('/api/sandboxes', { method: 'POST' }).catch(() => undefined));
  if (r?.status === 201) got++;
}
for (const s of held) s.destroy();
process.send!({ visits, got });
process.disconnect();
