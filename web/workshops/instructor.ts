// The instructor's page: sign in with the server's secret, then the
// workshops (open a dashboard, delete) and the form that creates one (name,
// lessons in order, capacity, optional start and end).
import type { LessonOutline, WorkshopView } from '../../server/contracts/dashboard.js';
import { ask, el, request } from './request.js';

type WorkshopSummary = WorkshopView & { learners: number };

const app = document.getElementById('app')!;
const logout = document.getElementById('logout') as HTMLButtonElement;

function signIn(): void {
  const secret = el('input', { type: 'password', id: 'secret', autocomplete: 'current-password', required: true });
  const error = el('p', { className: 'ws-error', id: 'error', role: 'alert' } as Partial<HTMLParagraphElement>);
  const form = el(
    'form',
    { className: 'ws-card', id: 'login' },
    el('h1', { textContent: 'Instructor sign-in' }),
    el('p', { className: 'ws-sub', textContent: 'The secret was printed when boxlab started (or set with BOXLAB_INSTRUCTOR_SECRET).' }),
    el('label', {}, 'Secret', secret),
    el('button', { type: 'submit', className: 'bx-button', textContent: 'Sign in' }),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await request('POST', '/api/instructor/login', { secret: secret.value });
      await home();
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  });
  app.replaceChildren(form);
  secret.focus();
}

/** The datetime-local value as epoch ms, or null if empty. */
const when = (input: HTMLInputElement): number | null => (input.value ? new Date(input.value).getTime() : null);
/** Epoch ms as a datetime-local value (local time, to the minute). */
function local(at: number | null): string {
  if (at === null) return '';
  const d = new Date(at - new Date(at).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** Creates a workshop, or edits `existing`. */
function editor(lessons: LessonOutline[], onDone: () => void, existing?: WorkshopSummary): HTMLFormElement {
  const name = el('input', { id: 'ws-name-input', required: true, maxLength: 100, placeholder: 'Containers from scratch, Tuesday', value: existing?.name ?? '' });
  const capacity = el('input', { id: 'ws-capacity', type: 'number', min: '1', max: '1000', value: String(existing?.capacity ?? 30), required: true });
  const starts = el('input', { id: 'ws-starts', type: 'datetime-local', value: local(existing?.startsAt ?? null) });
  const ends = el('input', { id: 'ws-ends', type: 'datetime-local', value: local(existing?.endsAt ?? null) });
  const chosen: string[] = [...(existing?.lessons ?? [])];
  const chosenList = el('ol', { className: 'ws-list', id: 'ws-chosen' });
  const error = el('p', { className: 'ws-error', id: 'ws-error', role: 'alert' } as Partial<HTMLParagraphElement>);
  const title = (id: string) => lessons.find((l) => l.id === id)?.title ?? id;

  const drawChosen = () => {
    chosenList.replaceChildren(
      ...chosen.map((id, i) => {
        const up = el('button', { type: 'button', className: 'bx-button', textContent: '↑', title: 'Earlier', disabled: i === 0 });
        up.addEventListener('click', () => {
          [chosen[i - 1], chosen[i]] = [chosen[i]!, chosen[i - 1]!];
          drawChosen();
        });
        return el('li', {}, `${i + 1}. ${title(id)}`, up);
      }),
    );
  };
  const boxes = lessons.map((lesson) => {
    const box = el('input', { type: 'checkbox', value: lesson.id, name: 'lesson', checked: chosen.includes(lesson.id) });
    box.addEventListener('change', () => {
      if (box.checked) chosen.push(lesson.id);
      else chosen.splice(chosen.indexOf(lesson.id), 1);
      drawChosen();
    });
    return el('label', { className: 'ws-row' }, box, `${lesson.title} (${lesson.exercises.length} exercises)`);
  });

  drawChosen();
  const form = el(
    'form',
    { className: 'ws-card', id: 'ws-editor' },
    el('h2', { textContent: existing ? `Edit "${existing.name}"` : 'New workshop' }),
    el('label', {}, 'Name', name),
    el('fieldset', {}, el('legend', { textContent: 'Lessons (in the order ticked)' }), ...boxes),
    chosenList,
    el('label', {}, 'Capacity (learners)', capacity),
    el('div', { className: 'ws-row' }, el('label', {}, 'Opens (optional)', starts), el('label', {}, 'Ends (optional)', ends)),
    el('button', { type: 'submit', className: 'bx-button', textContent: existing ? 'Save' : 'Create workshop' }),
    error,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    try {
      const body = { name: name.value, lessons: chosen, capacity: Number(capacity.value), startsAt: when(starts), endsAt: when(ends) };
      if (existing) await request('PUT', `/api/instructor/workshops/${existing.id}`, body);
      else await request('POST', '/api/instructor/workshops', body);
      onDone();
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  });
  return form;
}

function workshopList(workshops: WorkshopSummary[], refresh: () => void, edit: (w: WorkshopSummary) => void): HTMLElement {
  const items = workshops.map((w) => {
    const change = el('button', { type: 'button', className: 'bx-button', textContent: 'Edit' });
    change.addEventListener('click', () => edit(w));
    const remove = el('button', { type: 'button', className: 'bx-button', textContent: 'Delete' });
    remove.addEventListener('click', async () => {
      if ((await ask({ title: `Delete "${w.name}"?`, text: 'Its list of learners goes; their progress in lessons stays.', ok: 'Delete' })) === null) return;
      await request('DELETE', `/api/instructor/workshops/${w.id}`);
      refresh();
    });
    const state = w.endedAt ? 'ended' : `${w.learners}/${w.capacity} learners`;
    // workshops may share a name: the code and the start tell them apart, to the eye and to a screen reader
    const opens = w.startsAt ? `opens ${new Date(w.startsAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}` : 'no start date';
    const link = el('a', { href: `/instructor/workshops/${w.id}`, textContent: w.name });
    link.setAttribute('aria-label', `${w.name}, code ${w.code}, ${opens}`);
    return el('li', { className: 'ws-workshop' }, link, el('span', { className: 'ws-code', textContent: w.code }), el('span', { className: 'ws-sub ws-opens', textContent: opens }), el('span', { className: 'ws-sub', textContent: state }), change, remove);
  });
  return el('section', { className: 'ws-card', id: 'ws-workshops' }, el('h2', { textContent: 'Workshops' }), workshops.length ? el('ul', { className: 'ws-list' }, ...items) : el('p', { className: 'ws-sub', textContent: 'None yet.' }));
}

async function home(): Promise<void> {
  const { instructor } = await request<{ instructor: boolean }>('GET', '/api/instructor/session');
  logout.hidden = !instructor;
  if (!instructor) return signIn();
  const [{ workshops }, { lessons }] = await Promise.all([
    request<{ workshops: WorkshopSummary[] }>('GET', '/api/instructor/workshops'),
    request<{ lessons: LessonOutline[] }>('GET', '/api/instructor/lessons'),
  ]);
  const refresh = () => void home();
  const list = workshopList(workshops, refresh, (w) => {
    app.replaceChildren(list, editor(lessons, refresh, w));
    document.getElementById('ws-name-input')?.focus();
  });
  app.replaceChildren(list, editor(lessons, refresh));
}

logout.addEventListener('click', async () => {
  await request('POST', '/api/instructor/logout');
  await home();
});

void home();
