// The terminals of one sandbox, as tabs, with a status line: the piece the
// page (and the lesson player, beside the lesson text) puts on screen. It
// reattaches to the sandbox's existing terminals (a reload keeps its shells),
// opens one if there is none, and offers a new shell when one ends.
import { el } from '../player/ui.js';
import { api, ApiError, type SandboxInfo } from './api.js';
import type { LinkStatus } from './link.js';
import { TerminalView } from './view.js';

export interface TerminalPanelOptions {
  sandbox: SandboxInfo;
  /** The sandbox no longer exists (reaped while idle, or the server restarted). */
  onSandboxGone?: () => void;
}

interface Tab {
  id: string;
  button: HTMLButtonElement;
  label: HTMLSpanElement;
  screen: HTMLDivElement;
  view: TerminalView;
  ended: boolean;
}

const STATUS_TEXT: Record<LinkStatus, string> = {
  connecting: 'connecting…',
  live: 'connected',
  reconnecting: 'connection lost, reconnecting…',
  ended: 'ended',
  closed: 'closed',
};

export class TerminalPanel {
  readonly element: HTMLDivElement;
  private readonly tabBar: HTMLDivElement;
  private readonly screens: HTMLDivElement;
  private readonly status: HTMLDivElement;
  private readonly statusText: HTMLSpanElement;
  private readonly takeButton: HTMLButtonElement;
  private readonly newButton: HTMLButtonElement;
  private tabs: Tab[] = [];
  private active: Tab | undefined;
  private counter = 0;

  constructor(private readonly options: TerminalPanelOptions) {
    this.element = el('div', 'bx-panel');
    // the tabs are a tablist; the "+" beside them is a button, which a tablist may not hold
    const bar = el('div', 'bx-tabs');
    this.tabBar = el('div', 'bx-tablist');
    this.tabBar.setAttribute('role', 'tablist');
    this.newButton = el('button', 'bx-tab-new', '+');
    this.newButton.type = 'button';
    this.newButton.title = 'New terminal';
    this.newButton.setAttribute('aria-label', 'New terminal');
    this.newButton.addEventListener('click', () => void this.openNew());
    bar.append(this.tabBar, this.newButton);
    this.screens = el('div', 'bx-screens');
    this.status = el('div', 'bx-status');
    this.status.setAttribute('role', 'status');
    this.statusText = el('span', 'bx-status-text');
    this.takeButton = el('button', 'bx-take', 'Type here');
    this.takeButton.type = 'button';
    this.takeButton.hidden = true;
    this.takeButton.addEventListener('click', () => this.active?.view.link.take());
    this.status.append(this.statusText, this.takeButton);
    this.element.append(bar, this.screens, this.status);
  }

  get sandbox(): SandboxInfo {
    return this.options.sandbox;
  }

  /** Attaches to the sandbox's terminals, or opens the first one. Call once the panel is in the document. */
  async start(): Promise<void> {
    for (const info of this.options.sandbox.terminals) this.addTab(info.id, info.socket);
    if (this.tabs.length === 0) await this.openNew();
    else this.activate(this.tabs[0]!);
  }

  /** Opens a new shell in a new tab. */
  async openNew(): Promise<void> {
    try {
      const size = this.active ? { cols: this.active.view.term.cols, rows: this.active.view.term.rows } : { cols: 80, rows: 24 };
      const info = await api.createTerminal(this.options.sandbox.id, size);
      this.activate(this.addTab(info.id, info.socket));
    } catch (err) {
      this.problem(err);
    }
  }

  /** The visible text of the active terminal (for tests and automation). */
  screenText(): string {
    return this.active?.view.screenText() ?? '';
  }

  get activeView(): TerminalView | undefined {
    return this.active?.view;
  }

  dispose(): void {
    for (const tab of this.tabs) tab.view.dispose();
    this.tabs = [];
    this.element.remove();
  }

  private addTab(id: string, socket: string): Tab {
    const number = ++this.counter;
    const button = el('button', 'bx-tab');
    button.type = 'button';
    button.setAttribute('role', 'tab');
    const label = el('span', 'bx-tab-label', `${number}: bash`);
    const close = el('span', 'bx-tab-close', '×');
    close.title = 'End this terminal';
    button.append(label, close);
    const screen = el('div', 'bx-screen');
    screen.setAttribute('role', 'tabpanel');
    screen.hidden = true;
    this.screens.append(screen);
    this.tabBar.append(button);
    // measured while visible, so the first fit sees a real size
    const wasHidden = screen.hidden;
    screen.hidden = false;
    const view = new TerminalView(screen, {
      socket,
      stillThere: () =>
        api.terminal(id).then(
          () => true,
          (err: unknown) => !(err instanceof ApiError && err.status === 404),
        ),
    });
    screen.hidden = wasHidden;
    const tab: Tab = { id, button, label, screen, view, ended: false };
    button.addEventListener('click', (event) => {
      if (event.target === close) void this.closeTab(tab);
      else this.activate(tab);
    });
    view.link.onStatus((status) => this.onStatus(tab, status));
    view.link.onRole(() => this.renderStatus());
    view.term.onResize(() => {
      if (tab === this.active) this.renderStatus();
    });
    view.link.onError((e) => {
      if (tab === this.active) this.statusText.textContent = e.message;
    });
    // after a shell ends, Enter in its tab starts a new one in its place
    view.term.onData((data) => {
      if (tab.ended && data.includes('\r')) void this.replace(tab);
    });
    this.tabs.push(tab);
    return tab;
  }

  private activate(tab: Tab): void {
    this.active = tab;
    for (const t of this.tabs) {
      const on = t === tab;
      t.screen.hidden = !on;
      t.button.classList.toggle('bx-tab-active', on);
      t.button.setAttribute('aria-selected', String(on));
    }
    tab.view.fitNow();
    tab.view.focus();
    this.renderStatus();
  }

  private onStatus(tab: Tab, status: LinkStatus): void {
    if (status === 'ended' && !tab.ended) {
      tab.ended = true;
      tab.button.classList.add('bx-tab-ended');
      const exit = tab.view.link.exit;
      const why = tab.view.link.gone ? 'this terminal is gone' : `the shell exited${exit ? ` with status ${exit.code}` : ''}`;
      tab.view.term.write(`\r\n\x1b[2m[${why}; press Enter for a new one]\x1b[0m\r\n`);
      if (tab.view.link.gone) void this.checkSandbox();
    }
    if (tab === this.active) this.renderStatus();
  }

  private async replace(tab: Tab): Promise<void> {
    if (!tab.ended) return;
    tab.ended = false; // one replacement per Enter
    try {
      const info = await api.createTerminal(this.options.sandbox.id, { cols: tab.view.term.cols, rows: tab.view.term.rows });
      const index = this.tabs.indexOf(tab);
      this.removeTab(tab);
      const fresh = this.addTab(info.id, info.socket);
      // keep its place in the tab order
      this.tabs.splice(this.tabs.indexOf(fresh), 1);
      this.tabs.splice(index, 0, fresh);
      this.tabBar.insertBefore(fresh.button, this.tabs[index + 1]?.button ?? null);
      this.activate(fresh);
    } catch (err) {
      tab.ended = true;
      this.problem(err);
    }
  }

  private async closeTab(tab: Tab): Promise<void> {
    if (!tab.ended) await api.endTerminal(tab.id).catch(() => {}); // an unreachable server ends it after the grace period
    const index = this.tabs.indexOf(tab);
    this.removeTab(tab);
    if (this.tabs.length === 0) await this.openNew();
    else if (this.active === tab) this.activate(this.tabs[Math.max(0, index - 1)]!);
  }

  private removeTab(tab: Tab): void {
    tab.view.dispose();
    tab.button.remove();
    tab.screen.remove();
    this.tabs = this.tabs.filter((t) => t !== tab);
    if (this.active === tab) this.active = undefined;
  }

  private async checkSandbox(): Promise<void> {
    const sandboxes = await api.sandboxes().catch(() => undefined);
    if (sandboxes && !sandboxes.some((s) => s.id === this.options.sandbox.id)) this.options.onSandboxGone?.();
  }

  private renderStatus(): void {
    const tab = this.active;
    if (!tab) return;
    const link = tab.view.link;
    const parts = [STATUS_TEXT[link.status], this.options.sandbox.hostname, `${tab.view.term.cols}×${tab.view.term.rows}`];
    if (link.status === 'live' && link.role === 'viewer') parts.push('watching (someone else is typing)');
    this.statusText.textContent = parts.join(' · ');
    this.status.dataset.state = link.status;
    this.takeButton.hidden = !(link.status === 'live' && link.role === 'viewer');
  }

  private problem(err: unknown): void {
    this.statusText.textContent = err instanceof Error ? err.message : String(err);
    this.status.dataset.state = 'error';
    if (err instanceof ApiError && err.status === 404) void this.checkSandbox();
  }
}
