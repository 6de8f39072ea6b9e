// Takes the README's screenshots: the catalogue, a lesson page and a
// workshop's dashboard with a learner selected, light and dark, from a real
// server and real sandboxes, into docs/screenshots/.
// Run by hand as root after `npm run build`: npx tsx scripts/screenshots.ts
import { randomBytes } from 'node:crypto';
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
const secret = randomBytes(16).toString('hex');
const server = await startServer(loadConfig({ port: 0, host: '127.0.0.1', instance: 'screenshots', logLevel: 'warn', database, instructorSecret: secret }));
const browser = await chromium.launch({
  executablePath: process.env.BOXLAB_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
});

async function shoot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(out, `${name}.png`) });
  console.log(`docs/screenshots/${name}.png`);
}

const screenText = (page: Page) => page.evaluate(() => (window as unknown as { boxlab: { screenText(): string } }).boxlab.screenText());

/** Types a line in the lesson's terminal and waits for the prompt after it. */
async function run(page: Page, line: string): Promise<void> {
  const prompts = (await screenText(page)).match(/root@box-[0-9a-f]+:~#/g)?.length ?? 0;
  await page.locator('.xterm').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => ((window as unknown as { boxlab: { screenText(): string } }).boxlab.screenText().match(/root@box-[0-9a-f]+:~#/g)?.length ?? 0) > n, prompts, { timeout: 15_000 });
}

/** A learner joins by code, "Start the lessons" opens the first one, its sandbox comes up. */
async function join(code: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${server.url}/join/${code}`);
  await page.fill('#name', name);
  await page.click('#join-form button[type=submit]');
  await page.waitForSelector('#joined');
  await page.click('#start');
  await page.waitForURL(/\/lessons\/01-namespaces$/);
  await page.waitForFunction(() => (window as unknown as { boxlab: { status(): string } }).boxlab.status() === 'live', null, { timeout: 30_000 });
  await page.waitForFunction(() => /root@box-[0-9a-f]+:~# ?$/m.test((window as unknown as { boxlab: { screenText(): string } }).boxlab.screenText()), null, { timeout: 15_000 });
  return page;
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

  // a workshop: the instructor signs in and creates it, three learners join
  const teacher = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const signIn = await teacher.request.post(`${server.url}/api/instructor/login`, { data: { secret }, headers: { origin: server.url } });
  if (signIn.status() !== 204) throw new Error(`instructor sign-in: ${signIn.status()}`);
  const created = await teacher.request.post(`${server.url}/api/instructor/workshops`, {
    data: { name: 'Containers from the inside, Tuesday', lessons: ['01-namespaces', '02-cgroups'], capacity: 12 },
    headers: { origin: server.url },
  });
  if (created.status() !== 201) throw new Error(`creating the workshop: ${created.status()} ${await created.text()}`);
  const workshop = (await created.json()) as { id: string; code: string };
  const t = await teacher.newPage();
  await t.goto(`${server.url}/instructor/workshops/${workshop.id}`);
  await t.waitForSelector(`#ws-code:has-text("${workshop.code}")`);

  // Ada is quick: three exercises done
  const ada = await join(workshop.code, 'Ada');
  await run(ada, "unshare --uts sh -c 'hostname mybox; exec sleep infinity' &");
  await ada.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 15_000 });
  await run(ada, 'unshare --pid --fork sleep infinity &');
  await ada.waitForSelector('#exercise-pid[data-status="done"]', { timeout: 15_000 });
  await run(ada, 'unshare --pid --fork --mount-proc sleep infinity &');
  await ada.waitForSelector('#exercise-proc[data-status="done"]', { timeout: 15_000 });
  // Brian solves the first, then tries PID 1 without --fork, and asks for a hint
  const brian = await join(workshop.code, 'Brian');
  await run(brian, "unshare --uts sh -c 'hostname mybox; exec sleep infinity' &");
  await brian.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 15_000 });
  await run(brian, 'lsns -t pid');
  await run(brian, 'unshare --pid sleep infinity &');
  await brian.waitForSelector('#exercise-pid[data-status="failed"]', { timeout: 15_000 });
  await brian.locator('#exercise-pid .bx-button', { hasText: 'Show a hint' }).click();
  await brian.waitForSelector('#exercise-pid .bx-hint');
  await run(brian, 'ps -o pid,ppid,cmd');
  // Cleo is still looking around
  const cleo = await join(workshop.code, 'Cleo');
  await run(cleo, 'hostname');
  await cleo.waitForSelector('#exercise-uts[data-status="failed"]', { timeout: 15_000 });
  await t.waitForSelector('#grid tbody tr:has-text("Cleo") td[data-key="01-namespaces/uts"][data-status="failed"]', { timeout: 10_000 });

  // the instructor picks Brian and watches his terminal
  await t.waitForSelector('#grid tbody tr:has-text("Brian") td[data-key="01-namespaces/pid"][data-status="failed"]', { timeout: 10_000 });
  await t.locator('#grid tbody tr', { hasText: 'Brian' }).click();
  await t.waitForSelector('#side:not([hidden])');
  await t.click('#watch');
  await t.waitForFunction(() => /ps -o pid/.test((window as unknown as { boxlabDashboard: { screenText(): string } }).boxlabDashboard.screenText()), null, { timeout: 15_000 });
  await t.mouse.move(0, 0);
  await t.waitForTimeout(500);
  for (const scheme of ['light', 'dark'] as const) {
    await t.emulateMedia({ colorScheme: scheme });
    await t.waitForTimeout(300);
    // between the checker's rounds: no cell caught mid-check
    await t.waitForFunction(() => !document.querySelector('#grid td[data-status="checking"]'), null, { timeout: 15_000 });
    await shoot(t, `dashboard-${scheme}`);
  }
  await teacher.close();
  for (const p of [ada, brian, cleo]) await p.context().close();
} finally {
  await browser.close();
  await server.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(database + suffix, { force: true });
}
