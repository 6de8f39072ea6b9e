// The join page: a code (from the link or typed) and a display name; then
// the learner's resume link and the way to their lessons.
import { el, request } from './request.js';

interface Joined {
  workshop: { id: string; name: string; lessons: string[] };
  name: string;
  resumeUrl: string;
  home: string;
}

const form = document.getElementById('join-form') as HTMLFormElement;
const codeInput = document.getElementById('code') as HTMLInputElement;
const nameInput = document.getElementById('name') as HTMLInputElement;
const error = document.getElementById('error')!;
const title = document.getElementById('ws-title')!;

function joined(j: Joined): void {
  const card = el(
    'div',
    { className: 'ws-card', id: 'joined' },
    el('h1', { textContent: `You're in "${j.workshop.name}", ${j.name}` }),
    el('p', { textContent: 'Keep this personal link: it brings your session back on another device or browser. Do not share it.' }),
    el('a', { className: 'ws-resume', id: 'resume-link', href: j.resumeUrl, textContent: j.resumeUrl }),
    el('a', { className: 'bx-button', id: 'start', href: j.home, textContent: 'Start the lessons' }),
  );
  document.getElementById('app')!.replaceChildren(card);
}

const fromPath = /^\/join\/([^/]+)$/.exec(location.pathname)?.[1];
if (fromPath) {
  codeInput.value = decodeURIComponent(fromPath);
  request<{ name: string }>('GET', `/api/join/${encodeURIComponent(codeInput.value)}`).then(
    (w) => (title.textContent = w.name),
    () => (error.textContent = 'No workshop has this code; check it with your instructor.'),
  );
  nameInput.focus();
}

// already in a workshop (a reload, or a resume link): show it, and still allow joining another code
void request<Partial<Joined> & { workshop: Joined['workshop'] | null }>('GET', '/api/me/workshop').then((me) => {
  if (me.workshop && !fromPath) joined(me as Joined);
}, () => {});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.textContent = '';
  try {
    joined(await request<Joined>('POST', '/api/join', { code: codeInput.value, name: nameInput.value }));
  } catch (err) {
    error.textContent = (err as Error).message;
  }
});
