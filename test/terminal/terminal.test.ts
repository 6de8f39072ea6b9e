// The terminal as a learner uses it: a real server, real sandboxes, real
// WebSockets, and the page's own client code driving a headless xterm.js.
import headless from '@xterm/headless';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startTestServer, type Learner, type SandboxJson, type TestServer } from '../helpers/server.js';
import { HeadlessClient, RawClient, until } from '../helpers/terminal-client.js';

let server: TestServer;
let learner: Learner;
let box: SandboxJson;
const clients: Array<{ close(): void }> = [];

beforeAll(async () => {
  server = await startTestServer('terminal');
  learner = await server.learner();
  box = await learner.createSandbox();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await server.close();
  expect(await server.leftovers()).toEqual([]);
});

async function open(options: ConstructorParameters<typeof HeadlessClient>[2] = {}): Promise<HeadlessClient> {
  const term = await learner.createTerminal(box.id, { cols: options.cols ?? 80, rows: options.rows ?? 24 });
  const client = new HeadlessClient(learner, term.id, options);
  clients.push(client);
  await client.waitStatus('live');
  await client.waitPrompt();
  return client;
}

/** The numbers of the "line N" lines in a buffer, which must be all there is between the first and the last. */
function numberedLines(lines: string[]): number[] {
  const first = lines.findIndex((l) => /^line \d+$/.test(l));
  const last = lines.findLastIndex((l) => /^line \d+$/.test(l));
  const span = lines.slice(first, last + 1);
  for (const l of span) expect(l).toMatch(/^line \d+$/);
  return span.map((l) => Number(l.slice(5)));
}

function expectConsecutive(numbers: number[], lastExpected: number): void {
  expect(numbers.length).toBeGreaterThan(100);
  expect(numbers.at(-1)).toBe(lastExpected);
  const gaps = numbers.flatMap((n, i) => (i > 0 && n !== numbers[i - 1]! + 1 ? [`${numbers[i - 1]} -> ${n}`] : []));
  expect(gaps).toEqual([]);
}

it('runs `echo hi` in a login shell with a sane environment', async () => {
  const client = await open();
  expect(client.text()).toMatch(new RegExp(`^root@${box.hostname}:~# $`, 'm'));
  client.type('echo hi; echo "$TERM $LANG $PWD $HOME"; hostname\r');
  const text = await client.waitFor(/^hi\n/m);
  await client.waitFor(new RegExp(`^xterm-256color C\\.UTF-8 /root /root\\n${box.hostname}$`, 'm'));
  expect(text).not.toContain('\uFFFD');
  client.close();
});

it('comes back to the prompt after Ctrl-C on a `yes` flood', async () => {
  const client = await open();
  client.type('yes\r');
  await until(() => client.link.offset > 2_000_000, 20_000, () => `only ${client.link.offset} bytes of flood`);
  client.type('\x03');
  await client.waitFor((t) => /\^C\n[^\n]*# $/.test(t) || /\^C\nroot@[^\n]*#$/.test(t), 10_000);
  client.type('echo after-flood\r');
  await client.waitFor(/^after-flood$/m);
  client.close();
});

it('delivers UTF-8 box drawing split across frames without a single U+FFFD', async () => {
  const term = await learner.createTerminal(box.id, { cols: 100, rows: 30 });
  const raw = await RawClient.attach(learner, term.id, { cols: 100, rows: 30 });
  clients.push(raw);
  const screen = new headless.Terminal({ cols: 100, rows: 30, scrollback: 5000, allowProposedApi: true });
  let splitFrames = 0;
  raw.ws.on('message', (data: Buffer) => {
    if (data[0] !== 0x00) return;
    screen.write(data.subarray(1));
    // a frame that ends inside a multi-byte character: its last lead byte promises more
    const tail = data.subarray(Math.max(1, data.length - 3));
    for (let i = tail.length - 1; i >= 0; i--) {
      const b = tail[i]!;
      if (b < 0x80) break;
      if (b >= 0xc0) {
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
        if (tail.length - i < need) splitFrames++;
        break;
      }
    }
  });
  await raw.next('snapshot');
  const row = (i: number) => `┌──┬──┐│├┼┤└┴┘═║╔╗╚╝░▒▓ é ✓ ${i}`;
  raw.send({
    type: 'input',
    data: new TextEncoder().encode(`python3 -c 'for i in range(4000): print("┌──┬──┐│├┼┤└┴┘═║╔╗╚╝░▒▓ é ✓ %d" % i)'; echo END-OF-BOXES\r`),
  });
  await until(() => raw.output().includes('\r\nEND-OF-BOXES'), 20_000, () => 'the boxes never ended');
  await new Promise<void>((resolve) => screen.write('', resolve));
  const lines: string[] = [];
  for (let i = 0; i < screen.buffer.active.length; i++) lines.push(screen.buffer.active.getLine(i)!.translateToString(true));
  const all = lines.join('\n');
  expect(all).not.toContain('\uFFFD');
  expect(raw.output()).not.toContain('\uFFFD');
  const boxes = lines.filter((l) => l.startsWith('┌'));
  expect(boxes.length).toBeGreaterThan(3000);
  boxes.forEach((l) => expect(l).toBe(row(Number(l.split(' ').at(-1)))));
  // the test means something only if frames did split characters
  expect(splitFrames).toBeGreaterThan(0);
  screen.dispose();
});

// slow enough that the connection can be cut while it runs
const NUMBERED = `seq 1 30000 | while read i; do echo "line $i"; [ $((i % 1000)) = 0 ] && sleep 0.03; done; echo ALL-DONE`;

it('resumes a dropped connection in the middle of output with nothing lost or doubled', async () => {
  const client = await open({ scrollback: 40_000 });
  client.type(`${NUMBERED}\r`);
  await client.waitFor(/^line 5\d{3}$/m, 20_000);
  expect(client.text()).not.toMatch(/^ALL-DONE$/m);
  client.link.drop();
  await until(() => client.link.reconnects === 1 && client.link.status === 'live', 10_000, () => `link ${client.link.status}`);
  await client.waitFor(/^ALL-DONE$/m, 30_000);
  await client.waitPrompt();
  expect(client.link.restore).toBe('resume');
  // every line, once, in order: the whole stream is in this client's scrollback
  expectConsecutive(numberedLines(client.lines()), 30000);
  expect(numberedLines(client.lines())[0]).toBe(1);
  expect(client.link.offset).toBe(server.terminals.get(client.terminalId)!.outputOffset);
  client.close();
});

it('restores screen and scrollback for a new page (reload) in the middle of output', async () => {
  const first = await open();
  const id = first.terminalId;
  first.type(`${NUMBERED}\r`);
  await first.waitFor(/^line 5\d{3}$/m, 20_000);
  first.close(); // the page goes away
  const reloaded = new HeadlessClient(learner, id);
  clients.push(reloaded);
  await reloaded.waitStatus('live');
  expect(reloaded.link.restore).toBe('snapshot');
  expect(reloaded.text()).not.toMatch(/^ALL-DONE$/m);
  await reloaded.waitFor(/^ALL-DONE$/m, 30_000);
  await reloaded.waitPrompt();
  expectConsecutive(numberedLines(reloaded.lines()), 30000);
  // what it shows is what a client that watched the whole time shows
  const watcher = new HeadlessClient(learner, id, { role: 'viewer' });
  clients.push(watcher);
  await watcher.waitStatus('live');
  await watcher.waitPrompt();
  expect(watcher.screen()).toEqual(reloaded.screen());
  expect(watcher.lines().slice(-900)).toEqual(reloaded.lines().slice(-900));
  reloaded.close();
  watcher.close();
});

it('keeps other terminals working when one connection sends a malformed frame', async () => {
  const good = await open();
  const victimTerm = await learner.createTerminal(box.id);
  const bad = await RawClient.attach(learner, victimTerm.id);
  bad.sendRaw(Uint8Array.of(0x01, 0x00, 0x50)); // a resize frame one byte short
  const closed = await bad.closed;
  expect(closed.code).toBe(1002);
  expect(bad.errors()).toEqual(['bad-frame: a resize frame is 4 bytes: columns and rows, 16 bits each']);
  good.type('echo still-here\r');
  await good.waitFor(/^still-here$/m);
  // and the terminal behind the bad connection is fine too
  const again = new HeadlessClient(learner, victimTerm.id);
  clients.push(again);
  await again.waitStatus('live');
  again.type('echo victim-ok\r');
  await again.waitFor(/^victim-ok$/m);
  good.close();
  again.close();
});

it('leaves no process behind when a terminal is killed, not even ones that ignore SIGHUP', async () => {
  const client = await open();
  const id = client.terminalId;
  const jobs = async () => (await server.sandboxes.exec(box.id, ['sh', '-c', 'pgrep -c "^(sleep|yes)$" || true'])).stdout.trim();
  client.type('sleep 1001 & nohup sleep 1002 >/dev/null 2>&1 & (trap "" HUP; exec sleep 1003) & yes > /dev/null &\r');
  await until(async () => (await jobs()) === '4', 10_000, () => 'the background jobs never started');
  const res = await learner.fetch(`/api/terminals/${id}`, { method: 'DELETE' });
  expect(res.status).toBe(204);
  const inside = await server.sandboxes.exec(box.id, ['sh', '-c', 'pgrep -a "^(sleep|yes)$" || true']);
  expect(inside.stdout).toBe('');
  await client.waitStatus('ended');
  expect((await learner.fetch(`/api/terminals/${id}`)).status).toBe(404);
});
