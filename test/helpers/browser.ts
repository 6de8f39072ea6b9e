// A real headless Chromium (Debian's, driven by playwright-core; it gives the
// browser a fresh profile directory of its own each launch), that reports whatever the page complains about:
// console errors, uncaught exceptions and Content-Security-Policy violations.
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

declare global {
  interface Window {
    /** What the pages expose for tests (web/sandbox.ts; web/lesson.ts has no renderer but more). */
    boxlab: { screenText(): string; renderer(): string | undefined; status(): string | undefined };
  }
}

export const CHROMIUM = process.env.BOXLAB_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  browser: Browser;
  /** A fresh context (its own cookies) and page; problems the page reports land in `problems`. */
  page(): Promise<{ context: BrowserContext; page: Page; problems: string[] }>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  return {
    browser,
    async page() {
      const context = await browser.newContext({ viewport: { width: 1000, height: 640 } });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
      });
      page.on('pageerror', (err) => problems.push(`exception: ${err.message}`));
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
      });
      return { context, page, problems };
    },
    async close() {
      await browser.close();
    },
  };
}
