// The workshop pages' shared bits: JSON calls to the server (same origin, cookies), an element builder, in-page dialogs.
export { request } from '../terminal/api.js';

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: Array<Node | string>): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}


export interface AskOptions {
  title: string;
  text?: string;
  ok: string;
  /** Asks for text too (a multi-line box); the answer is what was typed. */
  input?: { label: string; maxLength: number };
}

/**
 * Asks in an in-page modal dialog (not confirm()/prompt(), which block the
 * page and cannot hold a multi-line box): resolves with the text typed ('' for
 * a plain confirmation), or null when cancelled.
 */
export function ask(options: AskOptions): Promise<string | null> {
  const box = options.input ? el('textarea', { id: 'ask-text', rows: 5, maxLength: options.input.maxLength, required: true }) : undefined;
  const cancel = el('button', { type: 'button', className: 'bx-button', textContent: 'Cancel' });
  const ok = el('button', { type: 'submit', className: 'bx-button', id: 'ask-ok', textContent: options.ok });
  const form = el(
    'form',
    { method: 'dialog' },
    el('h2', { id: 'ask-title', textContent: options.title }),
    ...(options.text ? [el('p', { textContent: options.text })] : []),
    ...(box && options.input ? [el('label', { className: 'ws-field' }, options.input.label, box)] : []),
    el('div', { className: 'bx-dialog-actions' }, cancel, ok),
  );
  const dialog = el('dialog', { className: 'bx-dialog', id: 'ask' }, form);
  dialog.setAttribute('aria-labelledby', 'ask-title');
  document.body.append(dialog);
  return new Promise((resolve) => {
    let answer: string | null = null;
    form.addEventListener('submit', () => (answer = box ? box.value : ''));
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(answer !== null && box && !answer.trim() ? null : answer);
    });
    dialog.showModal();
    (box ?? ok).focus();
  });
}
