// The lesson page: the lesson text beside a terminal in the learner's sandbox
// for this lesson. Opening it starts the lesson (or resumes it); exercises
// turn done by themselves as the learner works, through the live channel.
import { ApiError, TerminalPanel, type SandboxInfo } from './terminal/index.js';
import { lessons, type CheckStatus, type ExerciseJson, type ExerciseStatus, type LessonJson, type Place } from './player/api.js';
import { LearnerChannel, type LearnerMessage } from './player/channel.js';
import { button, confirmDialog, el, toast, trusted } from './player/ui.js';

const lessonId = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const text = document.getElementById('text')!;
const term = document.getElementById('term')!;
const titleEl = document.getElementById('lesson-title')!;
const progress = document.getElementById('progress')!;
const resetButton = document.getElementById('reset') as HTMLButtonElement;
const takeover = document.getElementById('takeover')!;

/** A card shows where an exercise stands, or that it is being checked. */
type CardStatus = ExerciseStatus | CheckStatus;

const STATUS_LABEL: Record<CardStatus, string> = { todo: 'To do', checking: 'Checking…', failed: 'Not yet', done: 'Done' };
const STEP_LABEL: Record<string, string> = {
  queued: 'Waiting for a sandbox',
  sandbox: 'Creating your sandbox',
  assets: 'Copying the lesson\'s files',
  setup: 'Running the lesson\'s setup',
};

interface Card {
  exercise: ExerciseJson;
  root: HTMLElement;
  badge: HTMLElement;
  reason: HTMLElement;
  hints: HTMLOListElement;
  hintButton: HTMLButtonElement;
  checkButton: HTMLButtonElement;
  diagnosis: HTMLElement;
  solution: HTMLElement;
  status: CardStatus;
}

let lesson: LessonJson | undefined;
let cards: Card[] = [];
let panel: TerminalPanel | undefined;
let busy = false;
/** Waiting in line for a sandbox (the server is full). */
let queued = false;
/** Resets this page asked for whose channel update has not come back yet. */
let ownResets = 0;
let restarting: Promise<void> | undefined;
let startStep: HTMLElement | undefined;
/**
 * Exercises the learner tried from this page: a command run while it was the
 * current one, or its Check pressed. Only those show why they are not done:
 * the automatic checks also look at an exercise that just became current.
 */
const tried = new Set<string>();
/** Where the learner was reading, kept for a reload (this tab only). */
const scrollKey = `boxlab.scroll.${lessonId}`;

// ---- the lesson text -------------------------------------------------------

/** Copy and run buttons on the code blocks the author marked. */
function enhanceCode(root: HTMLElement): void {
  for (const pre of root.querySelectorAll<HTMLPreElement>('pre.code[data-copy], pre.code[data-run]')) {
    const code = pre.textContent ?? '';
    const wrap = el('div', 'bx-code');
    const bar = el('div', 'bx-code-bar');
    if (pre.hasAttribute('data-run')) {
      const run = button('Run', 'bx-small', () => runInTerminal(code));
      run.setAttribute('aria-label', 'Run this in the terminal');
      bar.append(run);
    }
    const copy = button('Copy', 'bx-small', () => {
      void navigator.clipboard?.writeText(code.replace(/\n$/, '')).then(
        () => (copy.textContent = 'Copied'),
        () => (copy.textContent = 'Copy failed'),
      );
      setTimeout(() => (copy.textContent = 'Copy'), 1500);
    });
    copy.setAttribute('aria-label', 'Copy this to the clipboard');
    bar.append(copy);
    pre.replaceWith(wrap);
    wrap.append(bar, pre);
  }
}

/** Code wider than the text scrolls sideways: it takes the focus then, so that the keyboard can scroll it too. */
function scrollableCode(): void {
  for (const pre of text.querySelectorAll('pre')) {
    if (pre.scrollWidth > pre.clientWidth) pre.tabIndex = 0;
    else pre.removeAttribute('tabindex');
  }
}

function runInTerminal(code: string): void {
  const view = panel?.activeView;
  if (!view) return toast('The terminal is not ready yet.');
  triedCurrent();
  view.link.input(code.replace(/\n+$/, '').replace(/\n/g, '\r') + '\r');
  view.focus();
}

function renderText(data: LessonJson): void {
  const nodes: Node[] = [trusted(el('div', 'bx-intro'), data.introHtml)];
  if (data.unavailable) nodes.push(el('p', 'bx-unavailable', data.unavailable));
  cards = [];
  for (const section of data.sections) {
    if (section.kind === 'prose') {
      const s = el('section', 'bx-prose');
      s.append(trusted(el('h2'), section.titleHtml), trusted(el('div'), section.html));
      nodes.push(s);
    } else {
      const card = exerciseCard(section);
      cards.push(card);
      nodes.push(card.root);
    }
  }
  const nav = el('nav', 'bx-lesson-nav');
  nav.setAttribute('aria-label', 'Other lessons');
  if (data.previous) nav.append(link(`← ${data.previous.title}`, `/lessons/${data.previous.id}`, 'prev'));
  nav.append(link('All lessons', '/', 'up'));
  if (data.next) nav.append(link(`${data.next.title} →`, `/lessons/${data.next.id}`, 'next'));
  nodes.push(nav);
  text.replaceChildren(...nodes);
  enhanceCode(text);
  scrollableCode();
  refreshProgress();
  // a failure recorded for an exercise after the current one is no verdict on the learner
  const current = currentCard();
  for (const c of cards) if (c.status === 'failed' && c !== current) setStatus(c, 'todo');
  if (current?.status === 'failed') tried.add(current.exercise.id);
}

function link(label: string, href: string, rel: string): HTMLAnchorElement {
  const a = el('a', `bx-nav-${rel}`, label);
  a.href = href;
  if (rel !== 'up') a.rel = rel;
  return a;
}

function exerciseCard(exercise: ExerciseJson): Card {
  const root = el('section', 'bx-exercise');
  root.id = `exercise-${exercise.id}`;
  root.dataset.exercise = exercise.id;
  const head = el('header', 'bx-exercise-head');
  const badge = el('span', 'bx-badge');
  const title = trusted(el('h2', 'bx-exercise-title'), exercise.titleHtml);
  head.append(badge, title);
  const reason = el('p', 'bx-reason');
  reason.setAttribute('aria-live', 'polite');
  const hints = el('ol', 'bx-hints');
  hints.setAttribute('aria-label', 'Hints');
  hints.setAttribute('aria-live', 'polite');
  const diagnosis = el('pre', 'bx-diagnosis');
  diagnosis.hidden = true;
  diagnosis.setAttribute('aria-live', 'polite');
  const solution = el('div', 'bx-solution');
  const actions = el('div', 'bx-actions');
  const card: Card = { exercise, root, badge, reason, hints, diagnosis, solution, status: exercise.status, hintButton: undefined!, checkButton: undefined! };
  card.checkButton = button('Check', 'bx-primary', () => void checkNow(card));
  card.checkButton.title = 'Check this exercise now (Alt+C checks the current one)';
  card.hintButton = button('Show a hint', '', () => void nextHint(card));
  actions.append(card.checkButton);
  if (exercise.hintsTotal > 0) actions.append(card.hintButton);
  if (exercise.hasHintScript) actions.append(button('What is wrong now?', '', () => void diagnose(card)));
  if (exercise.hasSolution) actions.append(button('Show the solution', 'bx-quiet', () => void revealSolution(card)));
  root.append(head, trusted(el('div', 'bx-task'), exercise.html));
  if (exercise.unavailable) root.append(el('p', 'bx-unavailable', exercise.unavailable));
  root.append(reason, actions, hints, diagnosis, solution);
  showHints(card, exercise.hints);
  if (exercise.solutionHtml) showSolution(card, exercise.solutionHtml);
  setStatus(card, exercise.status, exercise.reason);
  return card;
}

function setStatus(card: Card, status: CardStatus, reason?: string): void {
  // done stays done
  if (card.status === 'done' && status !== 'done') return;
  const because = status === 'failed' && reason ? reason : '';
  // the same verdict again (a recheck) changes nothing, so screen readers are not told it twice
  if (card.root.dataset.status === status && card.reason.textContent === because) return;
  card.status = status;
  card.root.dataset.status = status;
  card.badge.textContent = STATUS_LABEL[status];
  card.reason.textContent = because;
  card.checkButton.disabled = status === 'checking' || Boolean(card.exercise.unavailable);
  refreshProgress();
}

function showHints(card: Card, hints: string[]): void {
  card.hints.replaceChildren(...hints.map((h) => trusted(el('li', 'bx-hint'), h)));
  const left = card.exercise.hintsTotal - hints.length;
  card.hintButton.textContent = left > 0 ? `Show a hint (${left} left)` : 'No more hints';
  card.hintButton.disabled = left <= 0;
}

function showSolution(card: Card, html: string): void {
  const box = trusted(el('div', 'bx-solution-code'), html);
  card.solution.replaceChildren(el('h3', undefined, 'Solution'), box);
  enhanceCode(card.solution);
  scrollableCode();
}

function refreshProgress(): void {
  const done = cards.filter((c) => c.status === 'done').length;
  progress.setAttribute('aria-valuemax', String(cards.length));
  progress.setAttribute('aria-valuenow', String(done));
  (progress.querySelector('.bx-progress-bar') as HTMLElement).style.width = `${(100 * done) / Math.max(1, cards.length)}%`;
  progress.querySelector('.bx-progress-text')!.textContent = `${done} / ${cards.length}`;
  const current = cards.find((c) => c.status !== 'done' && !c.exercise.unavailable);
  for (const c of cards) c.root.classList.toggle('bx-current', c === current);
}

// ---- actions ---------------------------------------------------------------

/** A check's news from the live channel, as far as the learner should see it. */
function showCheck(card: Card, status: CardStatus, trigger: 'auto' | 'demand', reason?: string): void {
  if (status !== 'done' && trigger === 'auto') {
    // automatic checks run twice after every command: "Checking…" each time would flicker
    if (status === 'checking') return;
    // and their verdict is news only on the exercise the learner is working on
    if (card !== currentCard() || !tried.has(card.exercise.id)) return;
  }
  setStatus(card, status, reason);
}

/** The learner ran a command: it is a try at the current exercise. */
function triedCurrent(): void {
  const card = currentCard();
  if (card) tried.add(card.exercise.id);
}

async function checkNow(card: Card): Promise<void> {
  tried.add(card.exercise.id);
  setStatus(card, 'checking');
  try {
    const r = await lessons.check(lessonId, card.exercise.id);
    setStatus(card, r.passed || r.done ? 'done' : 'failed', r.reason);
  } catch (err) {
    setStatus(card, 'todo');
    toast((err as Error).message, { kind: 'error' });
  }
}

async function nextHint(card: Card): Promise<void> {
  try {
    const r = await lessons.hint(lessonId, card.exercise.id);
    showHints(card, r.hints);
    (card.hints.lastElementChild as HTMLElement | null)?.setAttribute('tabindex', '-1');
  } catch (err) {
    toast((err as Error).message, { kind: 'error' });
  }
}

async function diagnose(card: Card): Promise<void> {
  card.diagnosis.hidden = false;
  card.diagnosis.textContent = 'Looking at your sandbox…';
  try {
    card.diagnosis.textContent = (await lessons.diagnose(lessonId, card.exercise.id)).text || 'Nothing to say.';
  } catch (err) {
    card.diagnosis.textContent = (err as Error).message;
  }
}

async function revealSolution(card: Card): Promise<void> {
  if (!(await confirmDialog('Show the solution?', 'Working it out yourself is how it sticks. The solution stays visible once shown.', 'Show the solution'))) return;
  try {
    showSolution(card, (await lessons.solution(lessonId, card.exercise.id)).solutionHtml);
  } catch (err) {
    toast((err as Error).message, { kind: 'error' });
  }
}

function currentCard(): Card | undefined {
  return cards.find((c) => c.root.classList.contains('bx-current'));
}

// ---- the sandbox and its terminal ------------------------------------------

function showStarting(step: string): void {
  if (!startStep) {
    const box = el('div', 'bx-starting');
    box.setAttribute('role', 'status');
    box.setAttribute('aria-live', 'polite');
    const bar = el('progress', 'bx-spinner');
    bar.setAttribute('aria-label', 'Starting the lesson');
    startStep = el('p', 'bx-starting-step');
    box.append(bar, startStep);
    panel?.dispose();
    panel = undefined;
    term.replaceChildren(box);
  }
  startStep.textContent = stepLabel(step);
}

const stepLabel = (step: string) => `${STEP_LABEL[step] ?? 'Starting'}…`;

/** "You are number 3 in line, about 4 minutes": a place in line in words. */
function placeLabel(place: Place): string {
  const wait = place.estimateMs === undefined ? 'as soon as a sandbox frees up' : place.estimateMs < 60_000 ? 'in less than a minute' : `in about ${Math.round(place.estimateMs / 60_000)} minute${place.estimateMs < 90_000 ? '' : 's'}`;
  return `The server is full: every sandbox is in use. You are number ${place.position} in line, and your lesson starts by itself ${wait}. Keep this page open.`;
}

/** The server is full: the learner's place in line, kept current by the live channel; the terminal opens once it starts. */
function showQueued(place: Place): void {
  queued = true;
  showStarting('queued');
  startStep!.textContent = placeLabel(place);
}

function showProblem(message: string, retry: () => void): void {
  startStep = undefined;
  const box = el('div', 'bx-message');
  box.setAttribute('role', 'alert');
  box.append(el('p', undefined, message), button('Try again', 'bx-primary', retry));
  panel?.dispose();
  panel = undefined;
  term.replaceChildren(box);
}

async function openTerminal(sandbox: SandboxInfo | null): Promise<void> {
  // the sandbox ended between its start and the answer (reaped, or the server stopping)
  if (!sandbox) throw new Error('its sandbox ended as it started');
  startStep = undefined;
  panel?.dispose();
  panel = new TerminalPanel({ sandbox, onSandboxGone: () => void start() });
  term.replaceChildren(panel.element);
  await panel.start();
  resetButton.disabled = false;
}

/** Starts the lesson (or resumes it) and opens its terminal; a full server puts the learner in line. */
async function start(): Promise<void> {
  if (lesson?.unavailable) return showProblem(lesson.unavailable, () => void start());
  busy = true;
  queued = false;
  showStarting('sandbox');
  try {
    const started = await lessons.start(lessonId);
    if ('queued' in started) return showQueued(started.queued);
    await openTerminal(started.sandbox);
  } catch (err) {
    const full = err instanceof ApiError && err.status === 503;
    showProblem(full ? `The server is full: ${err.message}` : `The lesson could not start: ${(err as Error).message}`, () => void start());
  } finally {
    busy = false;
  }
}

async function reset(): Promise<void> {
  if (!(await confirmDialog('Reset this lesson?', 'Your sandbox goes back to the lesson\'s start: everything you did in it is lost, and every exercise is to do again.', 'Reset lesson'))) return;
  resetButton.disabled = true;
  busy = true;
  ownResets++;
  tried.clear();
  showStarting('sandbox');
  try {
    const started = await lessons.reset(lessonId);
    await reload();
    if ('queued' in started) showQueued(started.queued);
    else await openTerminal(started.sandbox);
  } catch (err) {
    ownResets = 0;
    showProblem(`The lesson could not be reset: ${(err as Error).message}`, () => void start());
  } finally {
    busy = false;
    resetButton.disabled = false;
  }
}

/** The lesson was reset elsewhere (another tab, the instructor): show it as it is now, once. */
function restartAfterReset(): void {
  if (busy || restarting) return;
  tried.clear();
  restarting = reload()
    .then(start)
    .finally(() => (restarting = undefined));
}

async function reload(): Promise<void> {
  lesson = await lessons.lesson(lessonId);
  const scroll = text.scrollTop;
  renderText(lesson);
  text.scrollTop = scroll;
}

// ---- live updates ----------------------------------------------------------

function onMessage(m: LearnerMessage): void {
  if (m.kind === 'update') {
    const u = m.update;
    if (u.lessonId !== lessonId) return;
    if (u.type === 'exercise') {
      const card = cards.find((c) => c.exercise.id === u.exerciseId);
      if (card) showCheck(card, u.status, u.trigger, u.reason);
    } else if (u.type === 'start' && queued && u.step === 'ready') {
      // the line moved to us and the lesson started: its terminal now
      void start();
    } else if (u.type === 'start' && startStep && u.step === 'queued' && u.place) {
      startStep.textContent = placeLabel(u.place);
    } else if (u.type === 'start' && startStep && u.step !== 'ready' && u.step !== 'failed') {
      // The channel and the start request are separate connections: a step
      // may arrive after the terminal opened, and must not take its place.
      startStep.textContent = stepLabel(u.step);
    } else if (u.type === 'idle') {
      const minutes = Math.max(1, Math.round(u.inMs / 60_000));
      toast(`Nothing has happened in your sandbox for a while: it will be reclaimed in about ${minutes} minute${minutes > 1 ? 's' : ''} for someone else, and this lesson's next start makes a fresh one (your progress stays).`, {
        sticky: true,
        action: { label: 'Keep my sandbox', run: () => void lessons.keep(lessonId).catch((err: Error) => toast(err.message, { kind: 'error' })) },
      });
    } else if (u.type === 'reset') {
      // this page's own reset comes back here too, maybe after it finished
      if (ownResets > 0) ownResets--;
      else restartAfterReset();
    }
    return;
  }
  const n = m.notice;
  if (n.type === 'message') toast(n.text, { from: n.from, sticky: true });
  else if (n.type === 'takeover') {
    // the banner was there while it lasted; its end is said once, since the keyboard came back unasked
    if (!n.active && !takeover.hidden) toast(`${n.by} stopped typing: your terminal is yours again.`);
    takeover.hidden = !n.active;
    takeover.textContent = n.active ? `${n.by} is typing in your terminal` : '';
  } else if (n.type === 'reset' && n.lessonId === lessonId) {
    toast('Your lesson was reset by the instructor.', { sticky: true });
    restartAfterReset();
  }
}

// ---- layout and keys -------------------------------------------------------

function setupSplitter(): void {
  const splitter = document.getElementById('splitter')!;
  const main = document.getElementById('lesson')!;
  const apply = (percent: number) => {
    const p = Math.min(80, Math.max(20, Math.round(percent)));
    main.style.setProperty('--split', `${p}%`);
    splitter.setAttribute('aria-valuenow', String(p));
    localStorage.setItem('boxlab.split', String(p));
  };
  apply(Number(localStorage.getItem('boxlab.split')) || 50);
  splitter.addEventListener('pointerdown', (e) => {
    splitter.setPointerCapture(e.pointerId);
    const move = (ev: PointerEvent) => {
      const box = main.getBoundingClientRect();
      apply(((ev.clientX - box.left) / box.width) * 100);
    };
    splitter.addEventListener('pointermove', move);
    splitter.addEventListener('pointerup', () => splitter.removeEventListener('pointermove', move), { once: true });
  });
  splitter.addEventListener('keydown', (e) => {
    const now = Number(splitter.getAttribute('aria-valuenow'));
    if (e.key === 'ArrowLeft') apply(now - 5);
    else if (e.key === 'ArrowRight') apply(now + 5);
    else return;
    e.preventDefault();
  });
}

/** Back where the learner was reading before a reload; else, in a lesson under way, at the current exercise. */
function restoreReadingPosition(): void {
  const saved = Number(sessionStorage.getItem(scrollKey));
  if (saved > 0) text.scrollTop = saved;
  else if (cards.some((c) => c.status === 'done')) currentCard()?.root.scrollIntoView({ block: 'start' });
  window.addEventListener('pagehide', () => sessionStorage.setItem(scrollKey, String(Math.round(text.scrollTop))));
}

function setupKeys(): void {
  // Enter in the terminal runs a command (capture: xterm.js stops the event)
  term.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') triedCurrent();
  }, true);
  const shortcuts = document.getElementById('shortcuts') as HTMLDialogElement;
  document.getElementById('shortcuts-button')!.addEventListener('click', () => shortcuts.showModal());
  // capture: the terminal must not see these keys
  window.addEventListener(
    'keydown',
    (e) => {
      const inTerminal = term.contains(document.activeElement);
      let handled = true;
      if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyT') panel?.activeView?.focus();
      else if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyL') text.focus();
      else if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyC') {
        const card = currentCard();
        if (card) void checkNow(card);
      } else if (e.altKey && !e.ctrlKey && !e.metaKey && e.code === 'KeyN') {
        if (lesson?.next) location.href = `/lessons/${lesson.next.id}`;
      } else if (e.key === '?' && !inTerminal && !(document.activeElement instanceof HTMLInputElement)) shortcuts.showModal();
      else handled = false;
      if (handled) {
        e.preventDefault();
        e.stopPropagation();
      }
    },
    true,
  );
}

// for automation (the end-to-end tests): what the page shows
Object.assign(window, {
  boxlab: {
    screenText: () => panel?.screenText() ?? '',
    status: () => panel?.activeView?.status,
    exerciseStatus: (id: string) => cards.find((c) => c.exercise.id === id)?.status,
    sandboxId: () => panel?.sandbox.id,
  },
});

async function main(): Promise<void> {
  setupSplitter();
  setupKeys();
  new ResizeObserver(scrollableCode).observe(text);
  resetButton.addEventListener('click', () => void reset());
  try {
    await reload();
  } catch (err) {
    titleEl.textContent = 'Lesson not found';
    text.replaceChildren(el('p', 'bx-message', (err as Error).message), link('All lessons', '/', 'up'));
    return;
  }
  titleEl.textContent = lesson!.title;
  document.title = `${lesson!.title} · boxlab`;
  restoreReadingPosition();
  const channel = new LearnerChannel(onMessage, () => {
    // updates sent while the channel was down are lost: read the state afresh
    ownResets = 0;
    void reload();
  });
  // the start's steps (and a place in line) come on the channel: listen first, unless it is slow to open
  await Promise.race([channel.ready, new Promise((resolve) => setTimeout(resolve, 1000))]);
  await start();
}

void main();
