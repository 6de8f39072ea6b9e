// The catalogue: every lesson with its summary, time and the learner's
// progress; a lesson this host cannot run says why.
import { lessons, type CatalogueEntry } from './player/api.js';
import { el } from './player/ui.js';

const list = document.getElementById('catalogue')!;

function card(lesson: CatalogueEntry, index: number): HTMLLIElement {
  const item = el('li', 'bx-card');
  item.dataset.lesson = lesson.id;
  const title = el('h2', 'bx-card-title');
  const number = el('span', 'bx-card-number', String(index + 1).padStart(2, '0'));
  if (lesson.unavailable) {
    item.classList.add('bx-card-unavailable');
    title.append(number, document.createTextNode(lesson.title));
  } else {
    const link = el('a', 'bx-card-link', lesson.title);
    link.href = `/lessons/${encodeURIComponent(lesson.id)}`;
    title.append(number, link);
  }
  const meta = el('p', 'bx-card-meta');
  const state = lesson.done === lesson.exercises ? 'done' : lesson.done > 0 ? 'started' : 'new';
  item.dataset.state = state;
  meta.append(el('span', 'bx-time', lesson.time), el('span', 'bx-card-done', `${lesson.done} of ${lesson.exercises} exercises done`));
  if (lesson.needs.length) meta.append(el('span', 'bx-card-needs', `Needs ${lesson.needs.join(', ')}`));
  const bar = el('div', 'bx-progress bx-progress-small');
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-label', `${lesson.title}: exercises done`);
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', String(lesson.exercises));
  bar.setAttribute('aria-valuenow', String(lesson.done));
  const fill = el('span', 'bx-progress-bar');
  fill.style.width = `${(100 * lesson.done) / Math.max(1, lesson.exercises)}%`;
  bar.append(fill);
  item.append(title, el('p', 'bx-card-summary', lesson.summary), meta, bar);
  if (lesson.unavailable) item.append(el('p', 'bx-card-reason', `Unavailable here: ${lesson.unavailable}`));
  return item;
}

async function show(): Promise<void> {
  try {
    const all = await lessons.catalogue();
    list.replaceChildren(...all.map(card));
    if (all.length === 0) list.replaceChildren(el('li', 'bx-message', 'No lessons are installed on this server.'));
  } catch (err) {
    list.replaceChildren(el('li', 'bx-message', `Could not load the lessons: ${(err as Error).message}`));
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
}

// back from a lesson (bfcache): the progress may have changed
window.addEventListener('pageshow', (e) => {
  if (e.persisted) void show();
});
void show();
