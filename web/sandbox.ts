// The free sandbox page (/sandbox.html): a terminal in a sandbox of your own,
// no lesson. A reload reattaches to the same sandbox and shells.
import { button, el } from './player/ui.js';
import { api, ApiError, TerminalPanel, type SandboxInfo } from './terminal/index.js';

const app = document.getElementById('app')!;
const nameLabel = document.getElementById('sandbox-name')!;
const resetButton = document.getElementById('new-sandbox') as HTMLButtonElement;
let panel: TerminalPanel | undefined;

function message(text: string, retry?: () => void): void {
  const box = el('div', 'bx-message');
  box.append(el('p', undefined, text));
  if (retry) box.append(button('Try again', '', retry));
  app.replaceChildren(box);
}

async function show(sandbox: SandboxInfo): Promise<void> {
  panel?.dispose();
  nameLabel.textContent = sandbox.hostname;
  panel = new TerminalPanel({ sandbox, onSandboxGone: () => void start(true) });
  app.replaceChildren(panel.element);
  await panel.start();
}

/** Reattaches to the learner's sandbox, or starts one. */
async function start(fresh = false): Promise<void> {
  try {
    const existing = fresh ? undefined : (await api.sandboxes())[0];
    if (!existing) message('Starting your sandbox…');
    await show(existing ?? (await api.createSandbox()));
  } catch (err) {
    const busy = err instanceof ApiError && err.status === 503;
    message(busy ? `${err.message}` : `Could not start a sandbox: ${(err as Error).message}`, () => void start());
  }
}

resetButton.addEventListener('click', async () => {
  if (!panel || !confirm('Throw this sandbox away and start a fresh one? Everything in it is lost.')) return;
  resetButton.disabled = true;
  try {
    await api.deleteSandbox(panel.sandbox.id).catch(() => {}); // gone already, or reaped idle if the server was unreachable
    await start(true);
  } finally {
    resetButton.disabled = false;
  }
});

// for automation (the end-to-end tests): what the active terminal shows
Object.assign(window, {
  boxlab: {
    screenText: () => panel?.screenText() ?? '',
    renderer: () => panel?.activeView?.renderer,
    status: () => panel?.activeView?.status,
  },
});

void start();
