// The page in a real headless Chromium: a learner opens boxlab, types into the
// terminal and reads the answer off the screen; a reload brings back the same
// shell; the page breaks no rule of its Content-Security-Policy.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer('e2e'), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  expect(await server.leftovers()).toEqual([]);
});

const screen = (page: Page) => page.evaluate(() => window.boxlab.screenText());

async function waitScreen(page: Page, pattern: RegExp): Promise<string> {
  await page.waitForFunction((source) => new RegExp(source, 'm').test(window.boxlab.screenText()), pattern.source, { timeout: 15_000 });
  return screen(page);
}

it('types a command into the page\'s terminal and reads the result from the screen', async () => {
  const { page, problems, context } = await browser.page();
  await page.goto(`${server.url}/sandbox.html`);
  await page.waitForFunction(() => window.boxlab?.status() === 'live', null, { timeout: 15_000 });
  await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
  await page.locator('.xterm').click();
  await page.keyboard.type('echo "six times seven is $((6*7))"');
  await page.keyboard.press('Enter');
  const text = await waitScreen(page, /^six times seven is 42$/);
  expect(text).toMatch(/^root@box-[0-9a-f]+:~# echo "six times seven is \$\(\(6\*7\)\)"$/m);
  expect(['webgl', 'dom']).toContain(await page.evaluate(() => window.boxlab.renderer()));
  expect(await page.locator('.bx-status').getAttribute('data-state')).toBe('live');

  // a reload reattaches to the same shell, with what it showed
  await page.keyboard.type('export MARK=$$; echo mark-$MARK');
  await page.keyboard.press('Enter');
  const mark = /^mark-(\d+)$/m.exec(await waitScreen(page, /^mark-\d+$/))![1];
  await page.reload();
  await page.waitForFunction(() => window.boxlab?.status() === 'live', null, { timeout: 15_000 });
  await waitScreen(page, new RegExp(`^mark-${mark}$`));
  await page.locator('.xterm').click();
  await page.keyboard.type('echo same-shell-$MARK');
  await page.keyboard.press('Enter');
  await waitScreen(page, new RegExp(`^same-shell-${mark}$`));
  expect(server.sandboxes.count).toBe(1);

  // a second tab is a second shell in the same sandbox
  await page.locator('.bx-tab-new').click();
  await page.waitForFunction(() => document.querySelectorAll('.bx-tab').length === 2);
  await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
  await page.keyboard.type('echo tab-two-$$');
  await page.keyboard.press('Enter');
  const second = /^tab-two-(\d+)$/m.exec(await waitScreen(page, /^tab-two-\d+$/))![1];
  expect(second).not.toBe(mark);

  expect(problems).toEqual([]);
  await context.close();
});
