// boxlab as most people will run it, one container of its image, used through
// a real browser: a learner opens a lesson from the catalogue the container
// serves, types the answer into its terminal (a sandbox inside the container)
// and sees the exercise turn done. And every lesson's checks hold there too
// (its cgroups are the container's own).
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startBoxlab, TEST_IMAGE, type BoxlabContainer } from '../helpers/image.js';

async function waitScreen(page: Page, pattern: RegExp, timeout = 20_000): Promise<string> {
  await page.waitForFunction((source) => new RegExp(source, 'm').test(window.boxlab.screenText()), pattern.source, { timeout });
  return page.evaluate(() => window.boxlab.screenText());
}

/** Command lines of the container's processes (its image has no ps). */
function containerCommands(box: BoxlabContainer): string[] {
  const r = box.exec(['sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " <"$p/cmdline"; echo; done 2>/dev/null']);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

describe.skipIf(!TEST_IMAGE)('boxlab in its image, through a browser', () => {
  let box: BoxlabContainer;
  let browser: TestBrowser;

  beforeAll(async () => {
    [box, browser] = await Promise.all([startBoxlab(), launchBrowser()]);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    box?.remove();
  });

  it('completes the namespaces lesson\'s first exercise through the browser, the command running in a sandbox inside the container', async () => {
    const { page, problems, context } = await browser.page();
    await page.goto(box.url);
    await page.locator('.bx-card[data-lesson="01-namespaces"]').getByRole('link', { name: 'Namespaces' }).click();
    await page.waitForURL(/\/lessons\/01-namespaces$/);
    await page.waitForFunction(() => window.boxlab?.status() === 'live', null, { timeout: 30_000 });
    await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
    expect(await page.locator('#exercise-uts').getAttribute('data-status')).toBe('todo');
    expect(containerCommands(box)).not.toContain('sleep infinity');

    // a near miss first: the exercise fails, with the check's reason
    await page.locator('.xterm').click();
    await page.keyboard.type("unshare --uts sh -c 'hostname otherbox; exec sleep infinity' &");
    await page.keyboard.press('Enter');
    await page.waitForSelector('#exercise-uts[data-status="failed"]', { timeout: 20_000 });
    expect(await page.locator('#exercise-uts .bx-reason').textContent()).toMatch(/its hostname there is otherbox, not mybox/);

    // then the answer; nothing else is pressed, the exercise turns done by itself
    await page.keyboard.type('kill %1; wait');
    await page.keyboard.press('Enter');
    await page.keyboard.type("unshare --uts sh -c 'hostname mybox; exec sleep infinity' &");
    await page.keyboard.press('Enter');
    await page.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 20_000 });
    // the next exercise is the current one now, and not done by this
    expect(await page.locator('#exercise-pid').getAttribute('class')).toContain('bx-current');
    expect(await page.locator('#exercise-pid').getAttribute('data-status')).not.toBe('done');
    // what was typed runs in the container, not on the machine running the browser
    expect(containerCommands(box)).toContain('sleep infinity');
    expect(problems).toEqual([]);
    await context.close();
  }, 90_000);

  it('serves the free terminal page too, its shell in a sandbox inside the container', async () => {
    const { page, problems, context } = await browser.page();
    await page.goto(`${box.url}/sandbox.html`);
    await page.waitForFunction(() => window.boxlab?.status() === 'live', null, { timeout: 30_000 });
    await waitScreen(page, /root@box-[0-9a-f]+:~# ?$/);
    await page.locator('.xterm').click();
    await page.keyboard.type('sleep 4242 & echo "started $((6*7))"');
    await page.keyboard.press('Enter');
    await waitScreen(page, /^started 42$/);
    expect(containerCommands(box)).toContain('sleep 4242');
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('proves every lesson the image ships (each check fails, then passes after its solution) inside the container', () => {
    const r = box.exec(['node', '/app/bin/boxlab.js', 'verify', '--json'], 420_000);
    const report = JSON.parse(r.stdout) as { ok: boolean; lessons: Array<{ id: string; exercises: Array<{ id: string; status: string; problems: string[] }> }> };
    const outcomes = report.lessons.flatMap((l) => l.exercises.map((e) => `${l.id}/${e.id}: ${e.status}${e.problems.length ? ` (${e.problems.join('; ')})` : ''}`));
    // "skipped" is an exercise the host's kernel cannot run (said so, not failed)
    expect(outcomes.filter((o) => !/: (passed|skipped)$/.test(o))).toEqual([]);
    expect(outcomes.filter((o) => o.endsWith(': passed')).length).toBeGreaterThanOrEqual(20);
    expect(report.lessons.map((l) => l.id)).toEqual(expect.arrayContaining(['01-namespaces', '02-cgroups', '06-privileges']));
    expect(report.ok).toBe(true);
    expect(r.status).toBe(0);
  }, 480_000);
});
