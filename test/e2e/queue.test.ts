// A full server, as a learner meets it in Chromium: not a wall but a line.
// The page says where they stand, and their lesson's terminal opens by itself
// once a sandbox frees up.
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../server/paths.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer('queue-e2e', { maxSandboxes: 1, labsDir: path.join(PACKAGE_ROOT, 'test/fixtures/labs') }), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  expect(await server.leftovers()).toEqual([]);
});

it('shows a learner their place in line, then opens their terminal when a sandbox frees', async () => {
  const first = await server.learner();
  const held = (await first.json<{ sandbox: { id: string } }>('/api/lessons/01-basics/start', { method: 'POST' })).sandbox.id;
  const { page, problems } = await browser.page();
  await page.goto(`${server.url}/lessons/01-basics`);
  await page.getByText(/You are number 1 in line/).waitFor({ timeout: 15_000 });
  await first.fetch(`/api/sandboxes/${held}`, { method: 'DELETE' });
  await page.waitForFunction(() => window.boxlab?.status() === 'live', null, { timeout: 15_000 });
  await page.waitForFunction(() => /# $/m.test(window.boxlab.screenText()), null, { timeout: 15_000 });
  expect(await page.getByText(/in line/).count()).toBe(0);
  expect(problems).toEqual([]);
});
