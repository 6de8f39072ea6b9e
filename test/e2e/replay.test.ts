// The instructor replays a learner's terminal in a real headless Chromium:
// the learner (over the real terminal socket) types, a check of theirs fails,
// they type on and leave; on the dashboard the instructor opens the learner's
// recording, jumps to the failed check's mark, and sees its reason and the
// screen as it was at that moment (not what came after). And the learner on
// /history replays, downloads and deletes their own.
import { existsSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { Learner, startTestServer, type TestServer } from '../helpers/server.js';
import { HeadlessClient } from '../helpers/terminal-client.js';
import { castProblems } from '../../server/recording/cast.js';

const SECRET = 'replay-e2e-secret';
let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer('replay-e2e', { maxSandboxes: 3, instructorSecret: SECRET }), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  expect(await server.leftovers()).toEqual([]);
});

const post = (who: Learner, path: string, body: unknown = {}) => who.fetch(path, { method: 'POST', body: JSON.stringify(body) });

interface ReplayHooks {
  screenText(): string;
  moment(): string;
}
const replayed = (page: Page) => page.evaluate(() => {
  const r = (window as unknown as { boxlabDashboard: { replay(): ReplayHooks | undefined } }).boxlabDashboard.replay();
  return r ? { screen: r.screenText(), moment: r.moment() } : undefined;
});

it('opens a learner\'s replay, jumps to the failed check and shows its reason and that moment\'s screen', async () => {
  // the instructor and a workshop, over HTTP
  const teacherBrowser = await server.learner();
  const login = await post(teacherBrowser, '/api/instructor/login', { secret: SECRET });
  const session = login.headers.getSetCookie().find((c) => c.startsWith('boxlab_instructor='))!.split(';')[0]!;
  const teacher = Learner.withCookie(server.url, `${teacherBrowser.cookie}; ${session}`);
  const w = (await (await post(teacher, '/api/instructor/workshops', { name: 'Replay class', lessons: ['01-namespaces'], capacity: 5 })).json()) as { id: string; code: string };

  // the learner joins (recorded: a workshop member), types, fails a check, types on, leaves
  const ada = await server.learner();
  expect((await post(ada, '/api/join', { code: w.code, name: 'Ada' })).status).toBe(201);
  const started = (await (await post(ada, '/api/lessons/01-namespaces/start')).json()) as { sandbox: { id: string } };
  const terminal = await ada.createTerminal(started.sandbox.id, { cols: 80, rows: 24 });
  const client = new HeadlessClient(ada, terminal.id);
  await client.waitStatus('live');
  await client.waitPrompt();
  client.type('echo before-the-check\r');
  await client.waitFor(/^before-the-check$/m);
  await client.waitPrompt();
  await new Promise((r) => setTimeout(r, 500));
  const failed = (await (await post(ada, '/api/lessons/01-namespaces/exercises/uts/check')).json()) as { passed: boolean; reason: string };
  expect(failed.passed).toBe(false);
  await new Promise((r) => setTimeout(r, 1500));
  client.type('echo after-the-check\r');
  await client.waitFor(/^after-the-check$/m);
  await new Promise((r) => setTimeout(r, 300));
  client.close();
  expect((await ada.fetch(`/api/terminals/${terminal.id}`, { method: 'DELETE' })).status).toBe(204);

  // the instructor's dashboard
  const { context, page, problems } = await browser.page();
  const url = new URL(server.url);
  const [name, value] = session.split('=') as [string, string];
  await context.addCookies([{ name, value, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Strict' }]);
  await page.goto(`${server.url}/instructor/workshops/${w.id}`);
  await page.locator('tbody tr', { hasText: 'Ada' }).click();
  await page.click('#show-recordings');
  await page.locator('#recordings button').first().click();
  await page.waitForSelector('#replay-markers button[data-status="failed"]');
  // the failed check's mark is on the player's bar too
  expect(await page.locator('.ap-marker-container, .ap-marker').count()).toBeGreaterThan(0);
  await page.locator('#replay-markers button[data-status="failed"]').first().click();
  await page.waitForFunction(() => /failed/.test(document.getElementById('replay-moment')?.textContent ?? ''));
  await page.waitForFunction(() => /before-the-check/.test(document.querySelector('.ap-term-text')?.textContent ?? ''));
  const at = await replayed(page);
  expect(at!.moment).toContain(failed.reason);
  expect(at!.screen).toContain('before-the-check');
  expect(at!.screen).not.toContain('after-the-check');
  // the command list says what the check said after each command
  const commands = await page.locator('#replay-commands li').allTextContents();
  expect(commands.find((c) => c.includes('echo before-the-check'))).toContain(failed.reason);
  expect(problems).toEqual([]);
  await context.close();
});

it('lets a learner replay, download and delete their own sessions on /history', async () => {
  // recorded as a workshop's member (the default --record)
  const teacherBrowser = await server.learner();
  const login = await post(teacherBrowser, '/api/instructor/login', { secret: SECRET });
  const session = login.headers.getSetCookie().find((c) => c.startsWith('boxlab_instructor='))!.split(';')[0]!;
  const teacher = Learner.withCookie(server.url, `${teacherBrowser.cookie}; ${session}`);
  const w = (await (await post(teacher, '/api/instructor/workshops', { name: 'History class', lessons: ['01-namespaces'], capacity: 5 })).json()) as { id: string; code: string };
  const bea = await server.learner();
  expect((await post(bea, '/api/join', { code: w.code, name: 'Bea' })).status).toBe(201);
  const started = (await (await post(bea, '/api/lessons/01-namespaces/start')).json()) as { sandbox: { id: string } };
  const terminal = await bea.createTerminal(started.sandbox.id, { cols: 80, rows: 24 });
  const client = new HeadlessClient(bea, terminal.id);
  await client.waitStatus('live');
  await client.waitPrompt();
  client.type('echo bea-was-here\r');
  await client.waitFor(/^bea-was-here$/m);
  await client.waitPrompt();
  await new Promise((r) => setTimeout(r, 500));
  const failed = (await (await post(bea, '/api/lessons/01-namespaces/exercises/uts/check')).json()) as { passed: boolean; reason: string };
  expect(failed.passed).toBe(false);
  await new Promise((r) => setTimeout(r, 300));
  client.close();
  expect((await bea.fetch(`/api/terminals/${terminal.id}`, { method: 'DELETE' })).status).toBe(204);
  const { recordings } = await bea.json<{ recordings: Array<{ id: string; terminalId: string }> }>('/api/me/recordings');
  const rec = recordings.find((r) => r.terminalId === terminal.id)!;
  expect(rec).toBeDefined();

  // her browser, with her cookie
  const { context, page, problems } = await browser.page();
  const url = new URL(server.url);
  const [name, value] = bea.cookie.split(';')[0]!.split('=') as [string, string];
  await context.addCookies([{ name, value, domain: url.hostname, path: '/', httpOnly: true, sameSite: 'Lax' }]);
  await page.goto(`${server.url}/history`);
  await page.waitForSelector(`#history-list button[data-recording="${rec.id}"]`);
  expect(await page.locator('#history-about').textContent()).toMatch(/recorded/);

  // replay: to the failed check's mark, and that moment's screen
  await page.click(`#history-list button[data-recording="${rec.id}"]`);
  await page.waitForSelector('#replay-markers button[data-status="failed"]');
  await page.locator('#replay-markers button[data-status="failed"]').first().click();
  await page.waitForFunction(() => /failed/.test(document.getElementById('replay-moment')?.textContent ?? ''));
  await page.waitForFunction(() => /bea-was-here/.test(document.querySelector('.ap-term-text')?.textContent ?? ''));
  const at = await page.evaluate(() => {
    const r = (window as unknown as { boxlabHistory: { replay(): ReplayHooks | undefined } }).boxlabHistory.replay();
    return r ? { screen: r.screenText(), moment: r.moment() } : undefined;
  });
  expect(at!.moment).toContain(failed.reason);
  expect(at!.screen).toContain('bea-was-here');

  // download: the plain .cast, by the asciicast v2 rules
  const item = page.locator('#history-list li', { has: page.locator(`button[data-recording="${rec.id}"]`) });
  const [download] = await Promise.all([page.waitForEvent('download'), item.locator('a', { hasText: 'download' }).click()]);
  expect(download.suggestedFilename()).toMatch(/^01-namespaces-.*\.cast$/);
  const text = readFileSync((await download.path())!, 'utf8');
  expect(castProblems(text)).toEqual([]);
  expect(text).toContain('bea-was-here');

  // delete: gone from the page, the API and the disk
  const file = server.recordings.fileOf(server.recordings.store.get(rec.id)!);
  expect(existsSync(file)).toBe(true);
  await item.locator('button', { hasText: 'Delete' }).click();
  await page.waitForFunction((id) => !document.querySelector(`#history-list button[data-recording="${id}"]`) && document.getElementById('history-list')?.textContent?.includes('No recordings yet'), rec.id);
  expect((await bea.fetch(`/api/me/recordings/${rec.id}/cast`)).status).toBe(404);
  expect(existsSync(file)).toBe(false);
  expect(problems).toEqual([]);
  await context.close();
});
