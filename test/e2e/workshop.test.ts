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
  expect(await t.locator('#grid tfoot td').nth(4).textContent()).toBe('1'); // after Learner, Done, On exercise, Help

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

// The instructor's side of a session, as issue 15 found it wanting: attempts
// and "stuck" from what the learner did, what the learner used and was told on
// the dashboard, a layout whose controls stay reachable, the grid by keyboard,
// in-page dialogs, and typing handed back when a takeover ends.
it('counts the learner\'s tries, shows what they used and were told, by keyboard, and gives typing back after a takeover', async () => {
  const teacher = await browser.page();
  const t = teacher.page;
  await t.setViewportSize({ width: 1600, height: 900 });
  await t.goto(`${server.url}/instructor`);
  await t.fill('#secret', SECRET);
  await t.click('#login button[type=submit]');
  await t.waitForSelector('#ws-editor');
  // a lesson's checkbox sits on its title's line
  const label = t.locator('#ws-editor label', { has: t.locator('input[value="01-namespaces"]') });
  const [boxRect, labelRect] = [await label.locator('input').boundingBox(), await label.boundingBox()];
  expect(labelRect!.height).toBeLessThan(boxRect!.height * 2.5);
  const name = `Same name ${process.pid}`;
  const opens = Date.now() - 60_000;
  for (const startsAt of [opens, null]) {
    const made = await t.request.post(`${server.url}/api/instructor/workshops`, { data: { name, lessons: ['01-namespaces'], capacity: 5, startsAt, endsAt: null } });
    expect(made.status()).toBe(201);
  }
  await t.reload();
  // two workshops of one name are told apart: code and start date, to the eye and in the link's name
  const twins = t.locator('.ws-workshop', { hasText: name });
  await expect.poll(() => twins.count()).toBe(2);
  const opensTexts = await twins.locator('.ws-opens').allTextContents();
  expect(new Set(opensTexts).size).toBe(2);
  const linkNames = await twins.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('aria-label')));
  expect(linkNames[0]).not.toBe(linkNames[1]);
  const entry = twins.filter({ hasText: /opens/ });
  const code = (await entry.locator('.ws-code').textContent())!;
  await entry.locator('a').click();
  await t.waitForURL(/\/instructor\/workshops\/ws-[0-9a-f]{12}$/);

  // ---- Eve joins and opens the lesson
  const eve = await browser.page();
  const e = eve.page;
  await e.goto(`${server.url}/join/${code}`);
  await e.fill('#name', 'Eve');
  await e.click('#join-form button[type=submit]');
  await e.waitForSelector('#joined');
  await e.goto(`${server.url}/lessons/01-namespaces`);
  await e.waitForFunction(() => (window as unknown as { boxlab?: LessonHooks }).boxlab?.status() === 'live', null, { timeout: 30_000 });
  await waitScreen(e, /root@box-[0-9a-f]+:~# ?$/);
  await t.waitForFunction(() => document.querySelectorAll('#grid tbody tr').length === 1);

  // with nobody selected, the grid uses the width; column titles are numbers named by their title, upright
  expect((await t.locator('#grid').boundingBox())!.width).toBeGreaterThan(1600 * 0.9);
  const th = t.locator('#grid th.ws-ex').first();
  expect(await th.textContent()).toBe('1');
  expect(await th.getAttribute('aria-label')).toBe('1. A hostname of your own');
  // polled: the live grid may render anew between finding the cell and reading its style (a detached one reads '')
  await expect.poll(() => th.evaluate((el) => getComputedStyle(el).writingMode)).toBe('horizontal-tb');
  await t.locator('#legend', { hasText: 'solution seen' }).waitFor();

  // ---- ten commands that do not touch the exercise: one try in all, never stuck, nothing counted ahead
  await e.locator('.xterm').click();
  for (let i = 1; i <= 10; i++) {
    await e.keyboard.type(`echo look-${i}`);
    await e.keyboard.press('Enter');
    // long enough for the automatic check and its recheck a second later
    await new Promise((r) => setTimeout(r, 1300));
  }
  await e.waitForSelector('#exercise-uts[data-status="failed"]');
  const reason = (await e.locator('#exercise-uts .bx-reason').textContent())!;
  expect(reason.length).toBeGreaterThan(0);
  const rowOf = () => t.locator('#grid tbody tr', { hasText: 'Eve' });
  const onText = () => rowOf().locator('td.ws-on').textContent();
  await expect.poll(onText, { timeout: 5000 }).toMatch(/failed (try|tries)/);
  // the first look is a try; commands that change nothing the check sees are not
  const tries = Number(/(\d+) failed/.exec((await onText())!)![1]);
  expect(tries).toBe(1);
  expect(await rowOf().textContent()).not.toContain('stuck');
  expect(await rowOf().locator('td[data-key="01-namespaces/pid"]').getAttribute('data-status')).toBe('todo');
  // time on the exercise, to the second
  expect(await onText()).toMatch(/\d+ (min \d\d )?s/);
  const csv = (await (await t.request.get(`${server.url}${new URL(t.url()).pathname.replace('/instructor/workshops/', '/api/instructor/workshops/')}/export.csv`)).text()).split('\r\n');
  const attemptsOf = (ex: string) => Number(csv.find((l) => l.startsWith(`Eve,01-namespaces,${ex},`))!.split(',')[4]);
  expect(attemptsOf('uts')).toBe(tries);
  expect(attemptsOf('pid')).toBe(0);

  // ---- a hint and the solution; the dashboard shows them and the check's words as Eve sees them
  await e.locator('#exercise-uts button', { hasText: 'Show a hint' }).click();
  await e.locator('#exercise-uts .bx-hints li').first().waitFor();
  await e.locator('#exercise-uts button', { hasText: 'Show the solution' }).click();
  await e.click('#confirm-ok');
  await e.locator('#exercise-uts .bx-solution pre').first().waitFor();
  await expect.poll(() => rowOf().locator('td.ws-help').textContent(), { timeout: 5000 }).toBe('1 hint · 1 solution');
  await expect.poll(() => rowOf().locator('td[data-key="01-namespaces/uts"]').textContent()).toBe('✗★');
  expect(await rowOf().locator('td[data-key="01-namespaces/uts"]').getAttribute('aria-label')).toBe('1. A hostname of your own: failed, current, 1 hint, solution seen');
  expect(await rowOf().locator('.ws-reason').textContent()).toBe(reason);

  // ---- by keyboard alone: Tab reaches the row, Enter opens Eve, and again watches her terminal
  await t.focus('#sort');
  await t.keyboard.press('Tab');
  expect(await t.evaluate(() => (document.activeElement as HTMLElement).dataset.learner)).toBe(await learnerId(t, 'Eve'));
  await t.keyboard.press('Enter');
  await t.locator('#side h2', { hasText: 'Eve' }).waitFor();
  expect(await t.evaluate(() => document.activeElement?.id)).toBe('watch');
  expect(await t.textContent('#detail-reason')).toBe(reason);
  expect(await t.textContent('#detail-help')).toContain('solution seen');
  expect(await t.locator('#detail-commands li').allTextContents()).toEqual(['echo look-6', 'echo look-7', 'echo look-8', 'echo look-9', 'echo look-10']);
  await t.keyboard.press('Enter');
  await t.waitForFunction(() => /look-10/.test((window as unknown as { boxlabDashboard: DashboardHooks }).boxlabDashboard.screenText()), null, { timeout: 15_000 });

  // ---- the watched terminal leaves the message box, Send and Reset reachable
  for (const id of ['message-text', 'send-message', 'reset-learner']) {
    const onTop = await t.evaluate((target) => {
      const r = document.getElementById(target)!.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return hit?.id === target || document.getElementById(target)!.contains(hit);
    }, id);
    expect(onTop, `${id} is covered`).toBe(true);
  }
  await t.fill('#message-text', 'Eve, see hint 2');
  await t.click('#send-message');
  await e.locator('.bx-toast', { hasText: 'Eve, see hint 2' }).waitFor({ timeout: 5000 });

  // ---- at 800 px the side panel is not half the screen and the header stays one line
  await t.setViewportSize({ width: 800, height: 700 });
  expect((await t.locator('#side').boundingBox())!.width).toBeLessThan(800 * 0.4);
  const [first, last] = [await t.locator('.bx-logo').boundingBox(), await t.locator('#export-json').boundingBox()];
  expect(Math.abs(first!.y + first!.height / 2 - (last!.y + last!.height / 2))).toBeLessThan(4);
  await t.setViewportSize({ width: 1600, height: 900 });

  // ---- take over typing (an in-page dialog), type, close: Eve types again at her own size, and is told
  const terminalId = (await (await t.request.get(`${server.url}/api/instructor/workshops/${/ws-[0-9a-f]{12}/.exec(t.url())![0]}/learners/${await learnerId(t, 'Eve')}/terminals`)).json()).terminals[0].id as string;
  const session = server.terminals.get(terminalId)!;
  const ownSize = `${session.info().cols}x${session.info().rows}`;
  await t.click('#take-over');
  await t.locator('dialog#ask[open]', { hasText: 'Take over typing?' }).waitFor();
  await t.click('#ask-ok');
  await e.locator('.bx-status-text', { hasText: 'watching (someone else is typing)' }).waitFor({ timeout: 10_000 });
  await expect.poll(() => `${session.info().cols}x${session.info().rows}`).not.toBe(ownSize);
  await t.locator('#learner-terminal .xterm').click();
  await t.keyboard.type('echo from-the-$((1+1))-instructor');
  await t.keyboard.press('Enter');
  await waitScreen(e, /^from-the-2-instructor$/);
  await t.click('#close-terminal');
  await expect.poll(() => e.locator('.bx-status-text').textContent(), { timeout: 10_000 }).not.toContain('watching');
  await e.locator('.bx-toast', { hasText: 'stopped typing: your terminal is yours again' }).waitFor({ timeout: 5000 });
  await expect.poll(() => `${session.info().cols}x${session.info().rows}`, { timeout: 10_000 }).toBe(ownSize);
  await e.locator('.xterm').click();
  await e.keyboard.type('echo mine-$((2+2))-again');
  await e.keyboard.press('Enter');
  await waitScreen(e, /^mine-4-again$/);

  // ---- Message all: an in-page dialog with a multi-line box
  await t.click('#message-all');
  await t.locator('dialog#ask[open] textarea').fill('First line\nsecond line');
  await t.click('#ask-ok');
  await e.locator('.bx-toast', { hasText: 'second line' }).waitFor({ timeout: 5000 });

  for (const p of [teacher, eve]) expect(p.problems.filter((m) => !/WebSocket connection to .* failed|status of 40[134]/.test(m))).toEqual([]);
  await teacher.context.close();
  await eve.context.close();
}, 120_000);
