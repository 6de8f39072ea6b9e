// A workshop in a real headless Chromium, one browser context per person: the
// instructor signs in and creates a workshop; three learners join by code and
// open the lesson; one solves an exercise and the instructor's grid shows it
// done within a second; the instructor watches that learner's terminal
// read-only and sees what they type; a message reaches another learner's page;
// the CSV export holds the completion; a learner's attempts at another's
// terminal or at the instructor's routes are refused.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SECRET = 'e2e-instructor-secret';
// a name no other workshop in the list has
const NAME = `Containers, Tuesday ${process.pid}`;
const SOLUTION = "unshare --uts sh -c 'hostname mybox; exec sleep infinity' &";
let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer('workshop-e2e', { maxSandboxes: 6, instructorSecret: SECRET }), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  expect(await server.leftovers()).toEqual([]);
});

interface LessonHooks {
  screenText(): string;
  status(): string | undefined;
}
interface DashboardHooks {
  cell(name: string, key: string): string;
  screenText(): string;
}

async function waitScreen(page: Page, pattern: RegExp): Promise<void> {
  await page.waitForFunction((source) => new RegExp(source, 'm').test((window as unknown as { boxlab: LessonHooks }).boxlab.screenText()), pattern.source, { timeout: 20_000 });
}

it('runs a class: create, join, progress on the grid, watch a terminal, message, export, and keeps learners apart', async () => {
  // ---- the instructor signs in and creates a workshop
  const teacher = await browser.page();
  const t = teacher.page;
  await t.goto(`${server.url}/instructor`);
  await t.fill('#secret', 'not the secret');
  await t.click('#login button[type=submit]');
  await t.waitForSelector('#error:has-text("wrong instructor secret")');
  await t.fill('#secret', SECRET);
  await t.click('#login button[type=submit]');
  await t.waitForSelector('#ws-editor');
  await t.fill('#ws-name-input', NAME);
  await t.check('input[name=lesson][value="01-namespaces"]');
  await t.fill('#ws-capacity', '2');
  await t.click('#ws-editor button[type=submit]');
  const entry = t.locator('.ws-workshop', { hasText: NAME });
  await entry.waitFor();
  // on second thought, room for three
  await entry.getByRole('button', { name: 'Edit' }).click();
  expect(await t.inputValue('#ws-capacity')).toBe('2');
  expect(await t.isChecked('input[name=lesson][value="01-namespaces"]')).toBe(true);
  await t.fill('#ws-capacity', '3');
  await t.click('#ws-editor button:has-text("Save")');
  await t.locator('.ws-workshop', { hasText: '0/3 learners' }).waitFor();
  const code = (await entry.locator('.ws-code').textContent())!;
  expect(code).toMatch(/^[A-Z2-9]{6}$/);
  await entry.getByRole('link', { name: NAME }).click();
  await t.waitForURL(/\/instructor\/workshops\/ws-[0-9a-f]{12}$/);
  const workshopId = /ws-[0-9a-f]{12}/.exec(t.url())![0];
  await t.waitForSelector('#ws-code:has-text("' + code + '")');

  // ---- three learners join by code and open the lesson
  const names = ['Ada', 'Brian', 'Cleo'];
  const learners = [];
  for (const name of names) {
    const l = await browser.page();
    await l.page.goto(`${server.url}/join/${code.toLowerCase()}`);
    await l.page.waitForSelector(`#ws-title:has-text("${NAME}")`);
    await l.page.fill('#name', name);
    await l.page.click('#join-form button[type=submit]');
    await l.page.waitForSelector('#joined');
    expect(await l.page.locator('#resume-link').textContent()).toContain(`/r/${workshopId}/`);
    learners.push(l);
  }
  // the room is full: a fourth is told so
  const late = await browser.page();
  await late.page.goto(`${server.url}/join/${code}`);
  await late.page.fill('#name', 'Dan');
  await late.page.click('#join-form button[type=submit]');
  await late.page.waitForSelector('#error:has-text("is full (3 learners)")');
  await late.context.close();

  await t.waitForFunction(() => document.querySelectorAll('#grid tbody tr').length === 3);
  for (const l of learners) {
    await l.page.click('#start');
    await l.page.goto(`${server.url}/lessons/01-namespaces`);
    await l.page.waitForFunction(() => (window as unknown as { boxlab?: LessonHooks }).boxlab?.status() === 'live', null, { timeout: 30_000 });
    await waitScreen(l.page, /root@box-[0-9a-f]+:~# ?$/);
  }
  const [ada, brian, cleo] = learners as [(typeof learners)[0], (typeof learners)[0], (typeof learners)[0]];

  // ---- Ada solves the first exercise; the instructor's cell turns done within a second
  await ada.page.locator('.xterm').click();
  await ada.page.keyboard.type(SOLUTION);
  await ada.page.keyboard.press('Enter');
  await ada.page.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 20_000 });
  const seen = Date.now();
  await t.waitForSelector('#grid tbody tr:has-text("Ada") td[data-key="01-namespaces/uts"][data-status="done"]', { timeout: 1000 });
  expect(Date.now() - seen).toBeLessThan(1000);
  expect(await t.evaluate(() => (window as unknown as { boxlabDashboard: DashboardHooks }).boxlabDashboard.cell('Brian', '01-namespaces/uts'))).toBe('todo');
  expect(await t.locator('#grid tfoot td').nth(3).textContent()).toBe('1');

  // ---- the instructor watches Ada's terminal, read-only, and sees what she types
  await t.locator('#grid tbody tr', { hasText: 'Ada' }).click();
  await t.click('#watch');
  await t.waitForFunction(() => /root@box-/.test((window as unknown as { boxlabDashboard: DashboardHooks }).boxlabDashboard.screenText()), null, { timeout: 15_000 });
  await ada.page.keyboard.type('echo typed-by-$((40+2))');
  await ada.page.keyboard.press('Enter');
  await t.waitForFunction(() => /typed-by-42/.test((window as unknown as { boxlabDashboard: DashboardHooks }).boxlabDashboard.screenText()), null, { timeout: 10_000 });
  // read-only: the instructor's keys go nowhere
  await t.locator('#learner-terminal .xterm').click();
  await t.keyboard.type('echo from-the-watcher');
  await t.keyboard.press('Enter');
  await new Promise((r) => setTimeout(r, 500));
  expect(await ada.page.evaluate(() => (window as unknown as { boxlab: LessonHooks }).boxlab.screenText())).not.toContain('from-the-watcher');

  // ---- a message to Brian shows on his page, not on Cleo's
  await t.locator('#grid tbody tr', { hasText: 'Brian' }).click();
  await t.fill('#message-text', 'Brian, look at exercise 1 again');
  await t.click('#send-message');
  await brian.page.locator('.bx-toast', { hasText: 'Brian, look at exercise 1 again' }).waitFor({ timeout: 5000 });
  expect(await brian.page.locator('.bx-toast').textContent()).toContain('Instructor');
  expect(await cleo.page.locator('.bx-toast', { hasText: 'Brian, look' }).count()).toBe(0);

  // ---- the CSV export holds Ada's completion
  const csv = await t.request.get(`${server.url}/api/instructor/workshops/${workshopId}/export.csv`);
  expect(csv.status()).toBe(200);
  const lines = (await csv.text()).split('\r\n');
  expect(lines).toContainEqual(expect.stringMatching(/^Ada,01-namespaces,uts,\d{4}-\d\d-\d\dT[\d:.]+Z,\d+,0,false$/));
  expect(lines).toContainEqual(expect.stringMatching(/^Brian,01-namespaces,uts,,\d+,0,false$/));

  // ---- Cleo cannot reach Ada's terminal, nor anything of the instructor's
  const { terminals } = (await (await t.request.get(`${server.url}/api/instructor/workshops/${workshopId}/learners/${await learnerId(t, 'Ada')}/terminals`)).json()) as { terminals: Array<{ id: string }> };
  const adaTerminal = terminals[0]!.id;
  const attempts = await cleo.page.evaluate(
    async ({ terminal, workshop }) => {
      const opens = (path: string) =>
        new Promise<boolean>((resolve) => {
          const ws = new WebSocket(`ws://${location.host}${path}`);
          ws.onopen = () => (ws.close(), resolve(true));
          ws.onclose = () => resolve(false);
        });
      return {
        terminal: await opens(`/ws/terminals/${terminal}`),
        viaWorkshop: await opens(`/ws/workshops/${workshop}/terminals/${terminal}`),
        dashboard: await opens(`/ws/workshops/${workshop}/dashboard`),
        terminalApi: (await fetch(`/api/terminals/${terminal}`)).status,
        workshops: (await fetch('/api/instructor/workshops')).status,
        export: (await fetch(`/api/instructor/workshops/${workshop}/export.csv`)).status,
        message: (await fetch(`/api/instructor/workshops/${workshop}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"hi"}' })).status,
      };
    },
    { terminal: adaTerminal, workshop: workshopId },
  );
  expect(attempts).toEqual({ terminal: false, viaWorkshop: false, dashboard: false, terminalApi: 404, workshops: 401, export: 401, message: 401 });
  // the dashboard page itself shows her nothing: it sends her to the sign-in
  await cleo.page.goto(`${server.url}/instructor/workshops/${workshopId}`);
  await cleo.page.waitForSelector('#login');

  // refusals the test provoked (the wrong secret, the refused sockets and routes) are logged by the browser; nothing else may be
  for (const p of [teacher, ...learners]) expect(p.problems.filter((m) => !/WebSocket connection to .* failed|status of 40[134]/.test(m))).toEqual([]);
});

async function learnerId(page: Page, name: string): Promise<string> {
  return page.evaluate((n) => (window as unknown as { boxlabDashboard: { learners(): Array<{ id: string; name: string }> } }).boxlabDashboard.learners().find((l) => l.name === n)!.id, name);
}
