// The lesson player in a real headless Chromium, against a real server and
// real sandboxes, as a learner working alone uses it: the catalogue, the
// namespaces lesson started, its first exercise solved in the terminal and
// turning done by itself, a reload, a hint, a reset, a server restart.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: TestBrowser;
// kept across the server restart
const database = path.join(os.tmpdir(), `boxlab-player-e2e-${process.pid}.db`);

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer('player', { database }), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  for (const suffix of ['', '-wal', '-shm']) await fs.rm(database + suffix, { force: true });
  expect(await server.leftovers()).toEqual([]);
});

interface PlayerHooks {
  screenText(): string;
  status(): string | undefined;
  exerciseStatus(id: string): string | undefined;
  sandboxId(): string | undefined;
}
const hooks = (page: Page) => ({
  screen: () => page.evaluate(() => (window as unknown as { boxlab: PlayerHooks }).boxlab.screenText()),
  sandboxId: () => page.evaluate(() => (window as unknown as { boxlab: PlayerHooks }).boxlab.sandboxId()),
  statuses: () => page.locator('.bx-exercise').evaluateAll((cards) => cards.map((c) => (c as HTMLElement).dataset.status)),
});

async function waitLive(page: Page): Promise<void> {
  await page.waitForFunction(() => (window as unknown as { boxlab?: PlayerHooks }).boxlab?.status() === 'live', null, { timeout: 30_000 });
}

async function waitScreen(page: Page, pattern: RegExp): Promise<void> {
  await page.waitForFunction((source) => new RegExp(source, 'm').test((window as unknown as { boxlab: PlayerHooks }).boxlab.screenText()), pattern.source, { timeout: 15_000 });
}

/** The first exercise done, the others not (the current one may say why it is not done yet). */
const onlyFirstDone = (statuses: Array<string | undefined>) => statuses.length === 6 && statuses[0] === 'done' && statuses.slice(1).every((s) => s === 'todo' || s === 'failed');

const SOLUTION = "unshare --uts sh -c 'hostname mybox; exec sleep infinity' &";

it('takes a learner from the catalogue through the namespaces lesson, a reload, a hint, a reset and a server restart', async () => {
  const { page, problems, context } = await browser.page();
  // the start indicator shows for a moment only: remember that it did
  await page.addInitScript(() => {
    new MutationObserver(() => {
      if (document.querySelector('.bx-starting')) (window as unknown as { sawStarting: boolean }).sawStarting = true;
    }).observe(document, { childList: true, subtree: true });
  });

  // the catalogue: every lesson, its summary, time and progress
  await page.goto(server.url);
  await page.waitForSelector('.bx-card');
  expect(await page.locator('.bx-card').count()).toBe(8);
  // each card says what the lesson needs of the host
  expect(await page.locator('.bx-card[data-lesson="07-docker-under-the-hood"] .bx-card-needs').textContent()).toMatch(/^Needs a Docker engine inside the sandbox, /);
  const first = page.locator('.bx-card[data-lesson="01-namespaces"]');
  expect(await first.locator('.bx-card-summary').textContent()).toMatch(/ordinary process/);
  expect(await first.locator('.bx-card-meta').textContent()).toMatch(/40 min.*0 of 6 exercises done/);

  // start the namespaces lesson: a sandbox, the setup, the terminal
  await first.getByRole('link', { name: 'Namespaces' }).click();
  await page.waitForURL(/\/lessons\/01-namespaces$/);
  await waitLive(page);
  expect(await page.evaluate(() => (window as unknown as { sawStarting?: boolean }).sawStarting)).toBe(true);
  await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
  expect(await page.locator('#lesson-title').textContent()).toBe('Namespaces');
  expect(await hooks(page).statuses()).toEqual(Array(6).fill('todo'));
  expect(await page.locator('#exercise-uts').getAttribute('class')).toContain('bx-current');

  // type the first exercise's solution and watch it turn done, pressing nothing else
  await page.locator('.xterm').click();
  await page.keyboard.type(SOLUTION);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 15_000 });
  expect(await page.locator('#exercise-uts .bx-badge').textContent()).toBe('Done');
  expect(await page.locator('#progress').getAttribute('aria-valuenow')).toBe('1');
  expect(await page.locator('#exercise-pid').getAttribute('class')).toContain('bx-current');
  await page.keyboard.type('echo marker-$((6*7))');
  await page.keyboard.press('Enter');
  await waitScreen(page, /^marker-42$/);
  const sandboxId = await hooks(page).sandboxId();

  // reload: the progress and the terminal screen are still there, in the same sandbox
  await page.reload();
  await waitLive(page);
  await waitScreen(page, /^marker-42$/);
  expect((await hooks(page).screen()).replace(/\n/g, '')).toContain(SOLUTION);
  expect(await hooks(page).sandboxId()).toBe(sandboxId);
  expect(onlyFirstDone(await hooks(page).statuses())).toBe(true);
  expect(await page.locator('.bx-progress-text').textContent()).toBe('1 / 6');

  // a hint, one at a time
  const hintButton = page.locator('#exercise-pid').getByRole('button', { name: /Show a hint/ });
  await hintButton.click();
  await page.waitForSelector('#exercise-pid .bx-hint');
  expect(await page.locator('#exercise-pid .bx-hint').count()).toBe(1);
  expect(await hintButton.textContent()).toMatch(/\(\d+ left\)/);

  // reset: nothing happens without the confirmation
  await page.getByRole('button', { name: 'Reset lesson' }).click();
  await page.locator('#confirm').getByRole('button', { name: 'Cancel' }).click();
  expect(onlyFirstDone(await hooks(page).statuses())).toBe(true);
  // with it, the sandbox goes back to the lesson's start and every exercise is to do again
  await page.getByRole('button', { name: 'Reset lesson' }).click();
  expect(await page.locator('#confirm-title').textContent()).toBe('Reset this lesson?');
  await page.locator('#confirm').getByRole('button', { name: 'Reset lesson' }).click();
  await page.waitForFunction(() => Array.from(document.querySelectorAll('.bx-exercise'), (c) => (c as HTMLElement).dataset.status).every((s) => s === 'todo'), null, { timeout: 30_000 });
  await waitLive(page);
  await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
  expect(await hooks(page).screen()).not.toContain('marker-42');
  expect(await page.locator('#progress').getAttribute('aria-valuenow')).toBe('0');
  const clean = await server.sandboxes.exec(sandboxId!, ['sh', '-c', 'ps -eo comm= | grep -c "^sleep" || true']);
  expect(clean.stdout.trim()).toBe('0');
  // the hint the learner saw stays seen
  expect(await page.locator('#exercise-pid .bx-hint').count()).toBe(1);

  // solve it again, then restart the server: the progress is still there
  await page.locator('.xterm').click();
  await page.keyboard.type(SOLUTION);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 15_000 });
  expect(problems).toEqual([]);

  await server.close();
  expect(await server.leftovers()).toEqual([]);
  server = await startTestServer('player', { database });
  // same host, so the browser sends the same learner cookie
  await page.goto(server.url);
  await page.waitForSelector('.bx-card');
  expect(await page.locator('.bx-card[data-lesson="01-namespaces"] .bx-card-meta').textContent()).toMatch(/1 of 6 exercises done/);
  await page.goto(`${server.url}/lessons/01-namespaces`);
  await waitLive(page);
  expect(onlyFirstDone(await hooks(page).statuses())).toBe(true);
  expect(await page.locator('#exercise-pid .bx-hint').count()).toBe(1);
  // a new sandbox (the old one ended with the server), set up and working
  expect(await hooks(page).sandboxId()).not.toBe(sandboxId);
  await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
  expect(problems.filter((p) => !/WebSocket|Failed to load resource/.test(p))).toEqual([]);
  await context.close();
  // a long walk through the player, and a server restart in the middle
}, 120_000);

it('keeps the terminal when the live channel reports start steps and its own reset late', async () => {
  // The channel and the start or reset request are two connections: nothing
  // orders them. Hold the channel's start steps and resets back, as a busy
  // network may: the steps arrive while the page asks for its terminal, the
  // reset after the page has finished resetting.
  const { page, problems, context } = await browser.page();
  await page.addInitScript(() => {
    const w = window as unknown as { startingShown: number };
    w.startingShown = 0;
    new MutationObserver((changes) => {
      for (const c of changes) for (const n of Array.from(c.addedNodes)) if (n instanceof HTMLElement && n.classList.contains('bx-starting')) w.startingShown++;
    }).observe(document, { childList: true, subtree: true });
  });
  await page.route(/\/api\/sandboxes\/[^/]+\/terminals$/, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await route.continue();
  });
  // the page waits for its channel to open before it starts; here the channel is the test's
  // route, open at once, so give the route's own connection to the server time to be made
  await page.route(/\/api\/lessons\/[^/]+\/start$/, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await route.continue();
  });
  const held = { start: 0, reset: 0 };
  await page.routeWebSocket(/\/ws\/learner$/, (ws) => {
    const upstream = ws.connectToServer();
    upstream.onMessage((message) => {
      const type = typeof message === 'string' ? (JSON.parse(message) as { update?: { type?: string } }).update?.type : undefined;
      if (type !== 'start' && type !== 'reset') return ws.send(message);
      held[type]++;
      setTimeout(() => ws.send(message), type === 'start' ? 300 : 2500);
    });
  });
  const startingShown = () => page.evaluate(() => (window as unknown as { startingShown: number }).startingShown);
  const settled = async () => {
    await waitLive(page);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // every held message has arrived by now
    expect(await page.evaluate(() => (window as unknown as { boxlab: PlayerHooks }).boxlab.status())).toBe('live');
    expect(await page.locator('.bx-starting').count()).toBe(0);
  };

  await page.goto(`${server.url}/lessons/01-namespaces`);
  await settled();
  expect(held.start).toBeGreaterThan(0);
  await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
  expect(await startingShown()).toBe(1);

  await page.getByRole('button', { name: 'Reset lesson' }).click();
  await page.locator('#confirm').getByRole('button', { name: 'Reset lesson' }).click();
  await settled();
  expect(held.reset).toBe(1);
  // the late reset did not start the lesson over a second time
  expect(await startingShown()).toBe(2);
  await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
  expect(problems).toEqual([]);
  await context.close();
}, 60_000);

it('shows instructor messages in a dismissable banner and says when someone else types in the terminal', async () => {
  const { page, problems, context } = await browser.page();
  await page.goto(`${server.url}/lessons/01-namespaces`);
  await waitLive(page);
  const cookies = await context.cookies();
  const learnerId = cookies.find((c) => c.name === 'boxlab_learner')!.value.split('.')[0]!;

  server.bus.notify(learnerId, { type: 'message', from: 'Instructor', text: 'Ten minutes left', at: Date.now() });
  const toast = page.locator('.bx-toast', { hasText: 'Ten minutes left' });
  await toast.waitFor();
  expect(await page.locator('#toasts').getAttribute('aria-live')).toBe('assertive');
  expect(await toast.textContent()).toContain('Instructor');
  await toast.getByRole('button', { name: 'Dismiss' }).click();
  expect(await toast.count()).toBe(0);

  server.bus.notify(learnerId, { type: 'takeover', active: true, by: 'The instructor', at: Date.now() });
  await page.waitForSelector('#takeover:not([hidden])');
  expect(await page.locator('#takeover').textContent()).toBe('The instructor is typing in your terminal');
  server.bus.notify(learnerId, { type: 'takeover', active: false, by: 'The instructor', at: Date.now() });
  await page.waitForSelector('#takeover[hidden]', { state: 'attached' });
  expect(problems).toEqual([]);
  await context.close();
});

it('answers its keyboard shortcuts, even from inside the terminal; runs code blocks; shows the solution only when confirmed', async () => {
  const { page, problems, context } = await browser.page();
  await page.goto(`${server.url}/lessons/01-namespaces`);
  await waitLive(page);
  const focusIn = () => page.evaluate(() => (document.getElementById('term')!.contains(document.activeElement) ? 'term' : document.activeElement?.id));
  // count the shortcut keys that reach the terminal's input
  await page.evaluate(() => {
    const input = document.querySelector('#term .xterm-helper-textarea')!;
    (window as unknown as { leaked: number }).leaked = 0;
    input.addEventListener('keydown', (e) => {
      // the Alt key on its own is harmless; the letter with it is the shortcut
      if ((e as KeyboardEvent).altKey && (e as KeyboardEvent).key !== 'Alt') (window as unknown as { leaked: number }).leaked++;
    });
  });
  await page.keyboard.press('Alt+KeyL');
  expect(await focusIn()).toBe('text');
  await page.keyboard.press('Alt+KeyT');
  expect(await focusIn()).toBe('term');
  // check the current exercise: not done yet, and the card says why
  await page.keyboard.press('Alt+KeyC');
  await page.waitForSelector('#exercise-uts[data-status="failed"]');
  expect(await page.locator('#exercise-uts .bx-reason').textContent()).toMatch(/No process is running in a UTS namespace/);
  // the key never reached the shell
  expect(await page.evaluate(() => (window as unknown as { leaked: number }).leaked)).toBe(0);
  await page.keyboard.press('Alt+KeyL');
  await page.keyboard.press('?');
  expect(await page.locator('#shortcuts').getAttribute('open')).not.toBeNull();
  await page.keyboard.press('Escape');

  // a code block's Run button types it into the terminal
  await page.locator('.bx-intro .bx-code', { hasText: 'ls -l /proc/$$/ns' }).getByRole('button', { name: 'Run this in the terminal' }).click();
  await waitScreen(page, /# ls -l \/proc\/\$\$\/ns\n+total 0$/);
  // the solution only after saying yes
  const uts = page.locator('#exercise-uts');
  await uts.getByRole('button', { name: 'Show the solution' }).click();
  await page.locator('#confirm').getByRole('button', { name: 'Cancel' }).click();
  expect(await uts.locator('.bx-solution-code').count()).toBe(0);
  await uts.getByRole('button', { name: 'Show the solution' }).click();
  await page.locator('#confirm').getByRole('button', { name: 'Show the solution' }).click();
  expect(await uts.locator('.bx-solution-code').textContent()).toContain("unshare --uts sh -c 'hostname mybox; exec sleep infinity' &");

  await page.keyboard.press('Alt+KeyN');
  await page.waitForURL(/\/lessons\/02-cgroups$/);
  expect(problems).toEqual([]);
  await context.close();
}, 90_000);
