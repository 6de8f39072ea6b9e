// The learner's side of a real session, in a real headless Chromium against
// a real server: the lesson text keeps its place across a reload and its
// measure on a wide screen; exercise cards show verdicts only where the
// learner is working, steadily; joining a workshop leads to its first
// lesson; and every page meets WCAG AA (axe-core), light and dark.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Page, WebSocketRoute } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SECRET = 'learner-pages-secret';
const SOLUTION = "unshare --uts sh -c 'hostname mybox; exec sleep infinity' &";
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let server: TestServer;
let browser: TestBrowser;

beforeAll(async () => {
  [server, browser] = await Promise.all([startTestServer('learner-pages', { instructorSecret: SECRET }), launchBrowser()]);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  expect(await server.leftovers()).toEqual([]);
});

interface Hooks {
  status(): string | undefined;
  screenText(): string;
}

async function openLesson(page: Page, lesson = '01-namespaces'): Promise<void> {
  await page.goto(`${server.url}/lessons/${lesson}`);
  await page.waitForFunction(() => (window as unknown as { boxlab?: Hooks }).boxlab?.status() === 'live', null, { timeout: 30_000 });
  await page.waitForFunction(() => /root@box-[0-9a-f]+:~# ?$/m.test((window as unknown as { boxlab: Hooks }).boxlab.screenText()), null, { timeout: 15_000 });
}

async function command(page: Page, line: string): Promise<void> {
  await page.locator('.xterm').click();
  await page.keyboard.type(line);
  await page.keyboard.press('Enter');
}

const cardsShown = (page: Page) =>
  page.locator('.bx-exercise').evaluateAll((cards) => cards.map((c) => `${c.id.replace('exercise-', '')}:${c.querySelector('.bx-badge')!.textContent}:${c.querySelector('.bx-reason')!.textContent}`));

/** What axe-core finds against WCAG 2 A and AA, one line per element. */
async function accessibilityProblems(page: Page, scheme: 'light' | 'dark'): Promise<string[]> {
  await page.emulateMedia({ colorScheme: scheme });
  // the progress bar and the like settle their colours and widths
  await new Promise((resolve) => setTimeout(resolve, 400));
  // through the debugger protocol, so the page's CSP (no inline script) stays as it is
  await page.evaluate(AXE);
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, options: unknown): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[]; failureSummary?: string }> }> }> } }).axe;
    // xterm.js draws the shell's own output, whose colours are the program's choice; its status line and tabs are ours
    const r = await axe.run({ exclude: [['.xterm-screen'], ['.xterm-accessibility']] }, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return r.violations.flatMap((v) => v.nodes.map((n) => `${v.id} ${n.target.join(' ')}: ${n.failureSummary?.replace(/\s+/g, ' ')}`));
  });
  return found.map((f) => `${scheme}: ${f}`);
}

/**
 * The contrast of what axe-core leaves undecided, "+" and "×" being too short
 * for it to call text: the colour against the first opaque background behind.
 */
async function shortTextContrast(page: Page, selector: string): Promise<number[]> {
  return page.locator(selector).evaluateAll((nodes) => {
    const rgb = (c: string) => (c.match(/[\d.]+/g) ?? []).map(Number);
    const luminance = ([r, g, b]: number[]) => [r!, g!, b!].map((v) => (v / 255 <= 0.03928 ? v / 255 / 12.92 : ((v / 255 + 0.055) / 1.055) ** 2.4)).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i]!, 0);
    return nodes.map((node) => {
      let back: Element | null = node;
      let opacity = 1;
      for (; back && (rgb(getComputedStyle(back).backgroundColor)[3] ?? 1) === 0; back = back.parentElement) opacity *= Number(getComputedStyle(back).opacity);
      const behind = rgb(getComputedStyle(back ?? document.body).backgroundColor);
      // a see-through glyph is its colour blended into what is behind it
      const fore = rgb(getComputedStyle(node).color).slice(0, 3).map((v, i) => v * opacity + behind[i]! * (1 - opacity));
      const [a, b] = [luminance(fore), luminance(behind)].sort((x, y) => y - x);
      return Math.round(((a! + 0.05) / (b! + 0.05)) * 100) / 100;
    });
  });
}

it('keeps the reading position across a reload, and a readable measure on a wide screen', async () => {
  const { page, problems, context } = await browser.page();
  await page.setViewportSize({ width: 1920, height: 1000 });
  await page.goto(`${server.url}/lessons/01-namespaces`);
  await page.waitForSelector('#exercise-user');
  const scrollTop = () => page.locator('#text').evaluate((t) => t.scrollTop);
  await page.locator('#exercise-mount').evaluate((card) => card.scrollIntoView({ block: 'start' }));
  const reading = await scrollTop();
  expect(reading).toBeGreaterThan(1000);

  await page.reload();
  await page.waitForSelector('#exercise-user');
  await page.waitForFunction(() => (window as unknown as { boxlab?: Hooks }).boxlab?.status() === 'live', null, { timeout: 30_000 });
  expect(Math.abs((await scrollTop()) - reading)).toBeLessThanOrEqual(2);

  // about 70 to 80 characters a line in the text's longest paragraph, not 130
  const perLine = await page.locator('#text .bx-intro p').evaluateAll((ps) => {
    const p = ps.reduce((a, b) => ((b.textContent ?? '').length > (a.textContent ?? '').length ? b : a));
    const lines = Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight));
    return (p.textContent ?? '').length / lines;
  });
  expect(perLine).toBeGreaterThan(55);
  expect(perLine).toBeLessThan(85);
  expect(problems).toEqual([]);
  await context.close();
}, 60_000);

it('shows no verdict on exercises the learner has not reached, and the current one\'s reason once and steadily', async () => {
  const { page, problems, context } = await browser.page();
  // every text the cards' badges and reasons take, in order
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    new MutationObserver((changes) => {
      for (const c of changes) {
        const node = c.target instanceof Element ? c.target : c.target.parentElement;
        const part = node?.closest('.bx-badge, .bx-reason');
        if (part) seen.push(`${part.closest('.bx-exercise')!.id}:${part.className}:${part.textContent}`);
      }
    }).observe(document, { childList: true, subtree: true, characterData: true });
  });
  // the live channel as the server sends it, and a way to add what the server sends in a race
  let channel: WebSocketRoute | undefined;
  await page.routeWebSocket(/\/ws\/learner$/, (ws) => {
    channel = ws;
    ws.connectToServer();
  });
  await openLesson(page);
  const seen = () => page.evaluate(() => (window as unknown as { seen: string[] }).seen.splice(0));
  await seen();

  // a command that solves nothing: the current exercise says why, once; the rest say nothing
  await command(page, 'true');
  await page.waitForSelector('#exercise-uts[data-status="failed"]', { timeout: 15_000 });
  await new Promise((resolve) => setTimeout(resolve, 3000)); // the recheck has come and gone
  const reason = 'No process is running in a UTS namespace';
  expect((await seen()).filter((s) => s.startsWith('exercise-uts'))).toEqual([expect.stringMatching(/^exercise-uts:bx-badge:Not yet$/), expect.stringMatching(new RegExp(`^exercise-uts:bx-reason:${reason}`))]);
  expect((await cardsShown(page)).slice(1)).toEqual(['pid', 'proc', 'mount', 'persist', 'user'].map((id) => `${id}:To do:`));

  // the Check of an exercise ahead answers the learner who pressed it...
  await page.locator('#exercise-proc').getByRole('button', { name: 'Check' }).click();
  await page.waitForSelector('#exercise-proc[data-status="failed"]');
  // ...but is no verdict on it once the page comes back
  await page.reload();
  await page.waitForSelector('#exercise-proc');
  expect(await cardsShown(page)).toEqual([expect.stringMatching(new RegExp(`^uts:Not yet:${reason}`)), ...['pid', 'proc', 'mount', 'persist', 'user'].map((id) => `${id}:To do:`)]);
  await page.waitForFunction(() => (window as unknown as { boxlab?: Hooks }).boxlab?.status() === 'live', null, { timeout: 30_000 });

  // solved: the next exercise becomes current, and a check of it the checker
  // ran right after (a second command settled during the round) is not the learner's try
  await command(page, SOLUTION);
  await page.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 15_000 });
  const send = (update: object) => channel!.send(JSON.stringify({ kind: 'update', update: { type: 'exercise', lessonId: '01-namespaces', trigger: 'auto', ...update } }));
  send({ exerciseId: 'pid', status: 'checking' });
  send({ exerciseId: 'pid', status: 'failed', reason: 'No process is PID 1 of a PID namespace of its own.' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect((await cardsShown(page))[1]).toBe('pid:To do:');
  // once the learner works on it, it says why it is not done
  await command(page, 'true');
  await page.waitForSelector('#exercise-pid[data-status="failed"]', { timeout: 15_000 });
  expect((await cardsShown(page))[1]).toMatch(/^pid:Not yet:No process is PID 1/);
  expect(problems).toEqual([]);
  await context.close();
}, 90_000);

it('meets WCAG AA on the catalogue, lesson, join and dashboard pages, light and dark; joining leads to the first lesson', async () => {
  const found: string[] = [];
  const workshop = server.workshops.create({ name: 'Contrast check', lessons: ['02-cgroups', '01-namespaces'], capacity: 5 });

  // a learner joins: the form, then the card with their link
  const learner = await browser.page();
  const l = learner.page;
  await l.goto(`${server.url}/join/${workshop.code}`);
  await l.waitForSelector('#ws-title:has-text("Contrast check")');
  for (const scheme of ['light', 'dark'] as const) found.push(...(await accessibilityProblems(l, scheme)));
  await l.fill('#name', 'Ada');
  await l.click('#join-form button[type=submit]');
  await l.waitForSelector('#joined');
  for (const scheme of ['light', 'dark'] as const) found.push(...(await accessibilityProblems(l, scheme)));
  // "Start the lessons" opens the workshop's first lesson, not the catalogue
  await l.click('#start');
  await l.waitForURL(/\/lessons\/02-cgroups$/);

  // the lesson, with an exercise done, one failed and one checking (the progress text over the filled bar)
  await l.emulateMedia({ colorScheme: 'light' });
  await openLesson(l, '01-namespaces');
  await command(l, SOLUTION);
  await l.waitForSelector('#exercise-uts[data-status="done"]', { timeout: 15_000 });
  await command(l, 'true');
  await l.waitForSelector('#exercise-pid[data-status="failed"]', { timeout: 15_000 });
  await l.locator('#term').getByRole('button', { name: 'New terminal' }).waitFor();
  for (const scheme of ['light', 'dark'] as const) {
    found.push(...(await accessibilityProblems(l, scheme)));
    for (const selector of ['.bx-tab-new', '.bx-tab-close', '.bx-progress-text']) {
      const ratios = await shortTextContrast(l, selector);
      expect(ratios.length).toBeGreaterThan(0);
      for (const ratio of ratios) if (ratio < 4.5) found.push(`${scheme}: ${selector} has a contrast of ${ratio}`);
    }
  }

  // the catalogue, with that progress
  await l.goto(server.url);
  await l.waitForSelector('.bx-card');
  for (const scheme of ['light', 'dark'] as const) found.push(...(await accessibilityProblems(l, scheme)));

  // the instructor's dashboard, the learner selected
  const teacher = await browser.page();
  const t = teacher.page;
  expect((await teacher.context.request.post(`${server.url}/api/instructor/login`, { data: { secret: SECRET }, headers: { origin: server.url } })).status()).toBe(204);
  await t.goto(`${server.url}/instructor/workshops/${workshop.id}`);
  await t.locator('#grid tbody tr', { hasText: 'Ada' }).click();
  await t.waitForSelector('#side:not([hidden])');
  for (const scheme of ['light', 'dark'] as const) found.push(...(await accessibilityProblems(t, scheme)));
  // on a narrow screen, filtered to nobody: the grid scrolls sideways with no row
  // to Tab to, so its scroll area is reached by keyboard itself
  await t.setViewportSize({ width: 640, height: 700 });
  await t.fill('#filter', 'nobody by this name');
  await t.waitForFunction(() => document.querySelectorAll('#grid tbody tr').length === 0);
  expect(await t.locator('.ws-grid-wrap').evaluate((w) => w.scrollWidth > w.clientWidth)).toBe(true);
  for (const scheme of ['light', 'dark'] as const) found.push(...(await accessibilityProblems(t, scheme)));
  // the instructor's sign-in and workshop list
  await t.goto(`${server.url}/instructor`);
  await t.waitForSelector('.ws-workshop');
  for (const scheme of ['light', 'dark'] as const) found.push(...(await accessibilityProblems(t, scheme)));

  expect(found).toEqual([]);
  for (const p of [learner, teacher]) expect(p.problems).toEqual([]);
  await learner.context.close();
  await teacher.context.close();
}, 120_000);
