// Small pieces of page furniture: elements, a confirmation dialog, toasts.

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(text: string, className: string, onClick: (event: MouseEvent) => void): HTMLButtonElement {
  const b = el('button', `bx-button ${className}`, text);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** HTML the server rendered and sanitised (markdown-it + sanitize-html). */
export function trusted(node: HTMLElement, html: string): HTMLElement {
  node.innerHTML = html;
  return node;
}

/** Asks in a modal dialog; resolves true when the learner confirms. */
export function confirmDialog(title: string, text: string, ok: string): Promise<boolean> {
  const dialog = document.getElementById('confirm') as HTMLDialogElement;
  document.getElementById('confirm-title')!.textContent = title;
  document.getElementById('confirm-text')!.textContent = text;
  document.getElementById('confirm-ok')!.textContent = ok;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** A message that stays until dismissed (instructor messages) or for a while (the rest); with an action, a button that does it and dismisses. */
export function toast(text: string, options: { from?: string; sticky?: boolean; kind?: 'info' | 'error'; action?: { label: string; run: () => void } } = {}): void {
  const box = document.getElementById('toasts')!;
  const item = el('div', `bx-toast bx-toast-${options.kind ?? 'info'}`);
  item.setAttribute('role', options.kind === 'error' ? 'alert' : 'status');
  if (options.from) item.append(el('strong', 'bx-toast-from', `${options.from}: `));
  item.append(el('span', 'bx-toast-text', text));
  if (options.action) {
    const { label, run } = options.action;
    item.append(button(label, 'bx-primary bx-toast-action', () => {
      item.remove();
      run();
    }));
  }
  const close = button('×', 'bx-toast-close', () => item.remove());
  close.setAttribute('aria-label', 'Dismiss');
  item.append(close);
  box.append(item);
  if (!options.sticky) setTimeout(() => item.remove(), 8000);
}
