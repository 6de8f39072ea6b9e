// Takes the README's screenshots: the catalogue and a lesson page, light and
// dark, from a real server and a real sandbox, into docs/screenshots/.
// Run by hand as root after `npm run build`: npx tsx scripts/screenshots.ts
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { loadConfig } from '../server/config.js';
import { startServer } from '../server/main.js';
import { PACKAGE_ROOT } from '../server/paths.js';

const out = path.join(PACKAGE_ROOT, 'docs', 'screenshots');
mkdirSync(out, { recursive: true });

// a throwaway database: the pictures show a first-time learner's progress only
const database = path.join(os.tmpdir(), `boxlab-screenshots-${process.pid}.db`);
const server = await startServer(loadConfig({ port: 0, host: '127.0.0.1', instance: 'screenshots', logLevel: 'warn', database }));
const browser = await chromium.launch({
  executablePath: process.env.BOXLAB_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(out, `${name}.png`) });
  console.log(`docs/screenshots/${name}.png`);
}

try {
  // one learner, so the catalogue shows progress made in the lesson
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/lessons/01-namespaces`);
  await page.waitForFunction(() => (window as unknown as { boxlab: { status(): string } }).boxlab.status() === 'live', null, { timeout: 30_000 });
  await page.locator('.xterm').click();
  await page.keyboard.type("unshare --uts sh -c 'hostname mybox; exec sleep infinity' &");
  await page.keyboard.press('Enter');
  await page.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 15_000 });
  await page.keyboard.type('hostname; lsns -t uts');
  await page.keyboard.press('Enter');
  await page.locator('#exercise-pid .bx-button', { hasText: 'Show a hint' }).click();
  await page.waitForSelector('#exercise-pid .bx-hint');
  await page.locator('#exercise-uts').scrollIntoViewIfNeeded();
  await page.waitForTimeout(500);
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(300);
    await shoot(page, `lesson-${scheme}`);
  }
  await page.goto(server.url);
  await page.waitForSelector('.bx-card');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.waitForTimeout(200);
    await shoot(page, `catalogue-${scheme}`);
  }
  await context.close();
} finally {
  await browser.close();
  await server.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(database + suffix, { force: true });
}
