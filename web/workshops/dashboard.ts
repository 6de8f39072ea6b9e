// The workshop dashboard: the learners × exercises grid, live over a
// WebSocket (a snapshot, then changed rows), sorted and filtered here, redrawn
// at most a few times a second; and, for the learner picked, their terminal
// (read-only, or taken over), a message, a lesson reset.
import { cellKey, doneCount, isStuck, stuckReason, totals, type CellStatus, type Column, type DashboardMessage, type Row, type Thresholds, type WorkshopView } from '../../server/contracts/dashboard.js';
import { socketUrl } from '../terminal/api.js';
import { TerminalView } from '../terminal/view.js';
import type { RecordingJson } from '../../server/contracts/recordings.js';
import { mountReplay, type Replay } from '../replay.js';
import { ask, el, request } from './request.js';

const workshopId = /^\/instructor\/workshops\/([^/]+)$/.exec(location.pathname)?.[1] ?? '';
const grid = document.getElementById('grid') as HTMLTableElement;
const side = document.getElementById('side')!;
// the grid's scroll area, a named region; reached by keyboard through its rows,
// or, when it shows none (nobody yet, or all filtered out), itself (axe: scrollable-region-focusable)
const gridWrap = grid.parentElement!;
gridWrap.setAttribute('role', 'region');
gridWrap.setAttribute('aria-label', 'Learners by exercise');
const filter = document.getElementById('filter') as HTMLInputElement;
const stuckOnly = document.getElementById('stuck-only') as HTMLInputElement;
const sort = document.getElementById('sort') as HTMLSelectElement;
const $ = (id: string) => document.getElementById(id)!;

let workshop: WorkshopView | undefined;
let columns: Column[] = [];
let thresholds: Thresholds = { stuckMs: 600_000, stuckAttempts: 8, stuckAttemptsMs: 180_000 };
const rows = new Map<string, Row>();
/** Server time minus ours, so "time on exercise" is right whatever this machine's clock says. */
let skew = 0;
let selected: string | undefined;
let drawScheduled = false;
let connected = false;

const now = () => Date.now() + skew;

/** Time on an exercise, to the second: "4 min 05 s", "1 h 04 min". */
function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  if (m >= 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
  return m > 0 ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
}

/** A cell says its state in text (and to a screen reader), never by colour alone. */
const CELL_TEXT: Record<CellStatus, { icon: string; words: string }> = {
  todo: { icon: '', words: 'to do' },
  checking: { icon: '…', words: 'checking' },
  failed: { icon: '✗', words: 'failed' },
  done: { icon: '✓', words: 'done' },
};

/** Columns are numbered within their lesson; the title is the tooltip and the accessible name. */
function number(c: Column): number {
  return columns.filter((o) => o.lessonId === c.lessonId).indexOf(c) + 1;
}

function helpText(r: Row): string {
  const parts = [];
  if (r.hints) parts.push(`${r.hints} hint${r.hints === 1 ? '' : 's'}`);
  if (r.solutions) parts.push(`${r.solutions} solution${r.solutions === 1 ? '' : 's'}`);
  return parts.join(' · ') || '—';
}

function drawHeader(): void {
  if (!workshop) return;
  $('ws-name').textContent = workshop.name;
  $('ws-name').title = workshop.name;
  $('ws-code').textContent = workshop.code;
  const status = workshop.endedAt ? 'ended' : workshop.endsAt ? `ends ${new Date(workshop.endsAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : 'open';
  $('ws-status').textContent = `${status}${connected ? '' : ' · reconnecting…'}`;
  $('ws-link').textContent = `join: ${location.origin}/join/${workshop.code}`;
  ($('export-csv') as HTMLAnchorElement).href = `/api/instructor/workshops/${workshopId}/export.csv`;
  ($('export-json') as HTMLAnchorElement).href = `/api/instructor/workshops/${workshopId}/export.json`;
  ($('export-commands') as HTMLAnchorElement).href = `/api/instructor/workshops/${workshopId}/commands.csv`;
}

function visibleRows(at: number): Row[] {
  const needle = filter.value.trim().toLowerCase();
  const list = [...rows.values()].filter((r) => (!needle || r.name.toLowerCase().includes(needle)) && (!stuckOnly.checked || isStuck(r, at, thresholds)));
  const by: Record<string, (a: Row, b: Row) => number> = {
    name: (a, b) => a.name.localeCompare(b.name),
    progress: (a, b) => doneCount(b) - doneCount(a) || a.name.localeCompare(b.name),
    stuck: (a, b) => Number(isStuck(b, at, thresholds)) - Number(isStuck(a, at, thresholds)) || a.since - b.since,
    time: (a, b) => a.since - b.since,
  };
  return list.sort(by[sort.value] ?? by.name);
}

function draw(): void {
  drawScheduled = false;
  const at = now();
  // the grid is redrawn whole: the row that had the keyboard gets it back
  const focused = (document.activeElement as HTMLElement | null)?.closest?.('#grid tbody tr') as HTMLTableRowElement | null;
  const refocus = focused?.dataset.learner;
  const head = el('thead');
  const lessonRow = el('tr', {}, el('th', { textContent: '' }), el('th', { textContent: '' }), el('th', { textContent: '' }), el('th', { textContent: '' }));
  let prev = '';
  for (const c of columns) {
    if (c.lessonId === prev) {
      (lessonRow.lastChild as HTMLTableCellElement).colSpan++;
      continue;
    }
    prev = c.lessonId;
    lessonRow.append(el('th', { textContent: c.lessonTitle, colSpan: 1, className: 'ws-lesson' }));
  }
  const exRow = el(
    'tr',
    {},
    el('th', { textContent: 'Learner' }),
    el('th', { textContent: 'Done' }),
    el('th', { textContent: 'On exercise' }),
    el('th', { textContent: 'Help' }),
    ...columns.map((c) => {
      const th = el('th', { className: 'ws-ex', textContent: String(number(c)), title: `${c.lessonTitle}: ${c.title}`, scope: 'col' });
      th.setAttribute('aria-label', `${number(c)}. ${c.title}`);
      return th;
    }),
  );
  head.append(lessonRow, exRow);

  const list = visibleRows(at);
  const body = el('tbody');
  for (const r of list) {
    const stuck = stuckReason(r, at, thresholds);
    const tr = el('tr', { className: r.learnerId === selected ? 'ws-selected' : '', tabIndex: 0 });
    tr.dataset.learner = r.learnerId;
    tr.setAttribute('aria-label', `${r.name}${stuck ? `, stuck: ${stuck}` : ''}. Enter opens.`);
    const current = r.current ? columns.find((c) => cellKey(c.lessonId, c.exerciseId) === r.current) : undefined;
    const on = current ? `${number(current)}. ${current.title} · ${duration(at - r.since)}${r.attempts ? ` · ${r.attempts} failed ${r.attempts === 1 ? 'try' : 'tries'}` : ''}` : 'all done';
    const onCell = el('td', { className: 'ws-on' }, on);
    if (r.reason) onCell.append(el('div', { className: 'ws-reason', textContent: r.reason, title: r.reason }));
    tr.append(
      el('td', { className: stuck ? 'ws-stuck' : '', textContent: `${r.name}${stuck ? ` ⚠ stuck: ${stuck}` : ''}${r.waiting ? ` · waiting for a sandbox (#${r.waiting})` : ''}` }),
      el('td', { textContent: `${doneCount(r)}/${columns.length}` }),
      onCell,
      el('td', { className: 'ws-help', textContent: helpText(r) }),
    );
    for (const c of columns) {
      const key = cellKey(c.lessonId, c.exerciseId);
      const status = r.cells[key] ?? 'todo';
      const seen = r.revealed[key];
      const mark = seen?.solution ? '★' : seen?.hints ? '?' : '';
      const words = [CELL_TEXT[status].words, ...(key === r.current ? ['current'] : []), ...(seen?.hints ? [`${seen.hints} hint${seen.hints === 1 ? '' : 's'}`] : []), ...(seen?.solution ? ['solution seen'] : [])].join(', ');
      const td = el('td', { className: 'ws-cell', textContent: `${CELL_TEXT[status].icon}${mark}`, title: `${r.name}: ${number(c)}. ${c.title}: ${words}` });
      td.setAttribute('aria-label', `${number(c)}. ${c.title}: ${words}`);
      td.dataset.status = status;
      td.dataset.key = key;
      if (key === r.current) td.dataset.current = 'true';
      tr.append(td);
    }
    tr.addEventListener('click', () => select(r.learnerId));
    tr.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      select(r.learnerId);
      $('watch').focus();
    });
    body.append(tr);
  }
  const sums = totals(columns, [...rows.values()]);
  const foot = el('tfoot', {}, el('tr', {}, el('td', { textContent: 'Completed' }), el('td', { textContent: '' }), el('td', { textContent: '' }), el('td', { textContent: '' }), ...sums.map((n) => el('td', { textContent: String(n) }))));
  grid.replaceChildren(head, body, foot);
  if (list.length) gridWrap.removeAttribute('tabindex');
  else gridWrap.tabIndex = 0;
  if (refocus) (grid.querySelector(`tbody tr[data-learner="${CSS.escape(refocus)}"]`) as HTMLElement | null)?.focus();
  const stuckCount = [...rows.values()].filter((r) => isStuck(r, at, thresholds)).length;
  const waiting = [...rows.values()].filter((r) => r.waiting).length;
  $('ws-counts').textContent = `${rows.size} learners · ${stuckCount} stuck${waiting ? ` · ${waiting} waiting for a sandbox (the server is full)` : ''} · showing ${list.length}`;
  drawHeader();
  drawDetails(at);
}

/** The selected learner's details in the side panel (redrawn with the grid; the controls below are not). */
function drawDetails(at: number): void {
  const box = document.getElementById('learner-details');
  const r = selected ? rows.get(selected) : undefined;
  if (!box || !r) return;
  const current = r.current ? columns.find((c) => cellKey(c.lessonId, c.exerciseId) === r.current) : undefined;
  const stuck = stuckReason(r, at, thresholds);
  const revealed = Object.entries(r.revealed).map(([key, seen]) => {
    const c = columns.find((col) => cellKey(col.lessonId, col.exerciseId) === key);
    return el('li', { textContent: `${c ? `${number(c)}. ${c.title}` : key}: ${[seen.hints ? `${seen.hints} hint${seen.hints === 1 ? '' : 's'}` : '', seen.solution ? 'solution seen' : ''].filter(Boolean).join(', ')}` });
  });
  box.replaceChildren(
    el('dl', { className: 'ws-facts' },
      el('dt', { textContent: 'On' }), el('dd', { id: 'detail-on', textContent: current ? `${number(current)}. ${current.title} for ${duration(at - r.since)}` : 'all done' }),
      el('dt', { textContent: 'Failed tries' }), el('dd', { id: 'detail-attempts', textContent: String(r.attempts) }),
      el('dt', { textContent: 'Check says' }), el('dd', { id: 'detail-reason', className: 'ws-reason-full', textContent: r.reason ?? '—' }),
      el('dt', { textContent: 'Help used' }), el('dd', { id: 'detail-help' }, helpText(r), ...(revealed.length ? [el('ul', { className: 'ws-list' }, ...revealed)] : [])),
      el('dt', { textContent: 'Stuck' }), el('dd', { id: 'detail-stuck', className: stuck ? 'ws-stuck' : '', textContent: stuck ?? 'no' }),
      el('dt', { textContent: 'Last commands' }),
      el('dd', {}, r.commands.length ? el('ol', { className: 'ws-commands', id: 'detail-commands' }, ...r.commands.map((line) => el('li', {}, el('code', { textContent: line })))) : el('span', { id: 'detail-commands', className: 'ws-sub', textContent: 'none yet' })),
    ),
  );
}

function scheduleDraw(): void {
  if (drawScheduled) return;
  drawScheduled = true;
  requestAnimationFrame(draw);
}

function connect(): void {
  const ws = new WebSocket(socketUrl(`/ws/workshops/${workshopId}/dashboard`));
  ws.onopen = () => (connected = true);
  ws.onmessage = (event) => {
    const msg = JSON.parse(String(event.data)) as DashboardMessage;
    skew = msg.now - Date.now();
    if (msg.type === 'snapshot') {
      workshop = msg.workshop;
      columns = msg.columns;
      thresholds = msg.thresholds;
      rows.clear();
      for (const r of msg.rows) rows.set(r.learnerId, r);
    } else if (msg.type === 'rows') {
      for (const r of msg.rows) rows.set(r.learnerId, r);
    } else {
      workshop = msg.workshop;
    }
    scheduleDraw();
  };
  ws.onclose = (event) => {
    connected = false;
    drawHeader();
    if (event.code === 1008 || event.code === 4401) return;
    setTimeout(connect, 1000);
  };
}

// ---- one learner

let view: TerminalView | undefined;

function closeTerminal(): void {
  view?.dispose();
  view = undefined;
}

async function openTerminal(learnerId: string, box: HTMLElement, takeover: boolean): Promise<void> {
  closeTerminal();
  const { terminals } = await request<{ terminals: Array<{ id: string; socket: string }> }>('GET', `/api/instructor/workshops/${workshopId}/learners/${learnerId}/terminals`);
  const first = terminals[0];
  if (!first) {
    box.replaceChildren(el('p', { className: 'ws-sub', textContent: 'This learner has no terminal open.' }));
    return;
  }
  box.replaceChildren();
  view = new TerminalView(box, { socket: `${first.socket}${takeover ? '?takeover=1' : ''}`, role: takeover ? 'writer' : 'viewer', fontSize: 12 });
  if (takeover) view.focus();
}

// ---- a learner's recordings (they may have left: the recordings stay)

let replay: Replay | undefined;

function closeReplay(): void {
  replay?.dispose();
  replay = undefined;
}

async function listRecordings(learnerId: string, box: HTMLElement): Promise<void> {
  closeReplay();
  const base = `/api/instructor/workshops/${workshopId}/learners/${learnerId}/recordings`;
  const { recordings } = await request<{ recordings: RecordingJson[] }>('GET', base);
  if (!recordings.length) {
    box.replaceChildren(el('p', { className: 'ws-sub', textContent: 'No recordings of this learner.' }));
    return;
  }
  const player = el('div', { className: 'bx-replay', id: 'replay' });
  const list = el('ol', { className: 'ws-list', id: 'recordings' }, ...recordings.map((r) => {
    const open = el('button', { type: 'button', className: 'bx-link', textContent: `${r.lessonId} · ${new Date(r.startedAt).toLocaleString()}${r.endedAt ? '' : ' (open)'}` });
    open.dataset.recording = r.id;
    open.addEventListener('click', async () => {
      closeReplay();
      replay = await mountReplay(player, `${base}/${r.id}`);
    });
    const download = el('a', { className: 'bx-link', href: `${base}/${r.id}/cast?download`, textContent: 'download .cast' });
    return el('li', {}, open, ' ', download);
  }));
  box.replaceChildren(list, player);
}

function select(learnerId: string): void {
  selected = learnerId;
  const row = rows.get(learnerId);
  if (!row) return;
  closeTerminal();
  closeReplay();
  side.hidden = false;
  const termBox = el('div', { className: 'ws-term', id: 'learner-terminal' });
  const watch = el('button', { type: 'button', className: 'bx-button', id: 'watch', textContent: 'Watch terminal' });
  const take = el('button', { type: 'button', className: 'bx-button', id: 'take-over', textContent: 'Take over typing' });
  const stop = el('button', { type: 'button', className: 'bx-button', id: 'close-terminal', textContent: 'Close terminal' });
  watch.addEventListener('click', () => void openTerminal(learnerId, termBox, false));
  take.addEventListener('click', async () => {
    const yes = await ask({ title: 'Take over typing?', text: `You type in ${row.name}'s terminal; they watch, and are told. Close the terminal to give it back.`, ok: 'Take over' });
    if (yes !== null) void openTerminal(learnerId, termBox, true);
  });
  stop.addEventListener('click', () => {
    closeTerminal();
    termBox.replaceChildren();
  });
  const text = el('textarea', { id: 'message-text', rows: 2, maxLength: 1000, placeholder: `A message to ${row.name}` });
  text.setAttribute('aria-label', `A message to ${row.name}`);
  const send = el('button', { type: 'button', className: 'bx-button', id: 'send-message', textContent: 'Send' });
  const sent = el('span', { className: 'ws-ok', id: 'message-sent', role: 'status' } as Partial<HTMLSpanElement>);
  send.addEventListener('click', async () => {
    if (!text.value.trim()) return;
    await request('POST', `/api/instructor/workshops/${workshopId}/messages`, { text: text.value, to: learnerId });
    text.value = '';
    sent.textContent = 'sent';
  });
  const lesson = el('select', { id: 'reset-lesson' }, ...(workshop?.lessons ?? []).map((id) => el('option', { value: id, textContent: columns.find((c) => c.lessonId === id)?.lessonTitle ?? id })));
  lesson.setAttribute('aria-label', 'Lesson to reset');
  const reset = el('button', { type: 'button', className: 'bx-button', id: 'reset-learner', textContent: 'Reset lesson' });
  reset.addEventListener('click', async () => {
    const yes = await ask({ title: 'Reset the lesson?', text: `${row.name}'s sandbox starts "${lesson.selectedOptions[0]?.textContent ?? lesson.value}" afresh; what they did in it is gone.`, ok: 'Reset' });
    if (yes === null) return;
    await request('POST', `/api/instructor/workshops/${workshopId}/learners/${learnerId}/reset`, { lessonId: lesson.value });
  });
  const recBox = el('div', { id: 'learner-recordings' });
  const recordingsButton = el('button', { type: 'button', className: 'bx-button', id: 'show-recordings', textContent: 'Recordings' });
  recordingsButton.addEventListener('click', () => void listRecordings(learnerId, recBox));
  const hide = el('button', { type: 'button', className: 'bx-button', id: 'close-side', textContent: 'Close', title: 'Close this panel' });
  hide.addEventListener('click', () => {
    closeTerminal();
    closeReplay();
    selected = undefined;
    side.hidden = true;
    scheduleDraw();
    (grid.querySelector(`tbody tr[data-learner="${CSS.escape(learnerId)}"]`) as HTMLElement | null)?.focus();
  });
  // the controls come before the terminal, which sits last and never spills over them
  side.replaceChildren(
    el('div', { className: 'ws-row' }, el('h2', { textContent: row.name }), hide),
    el('div', { id: 'learner-details' }),
    el('div', { className: 'ws-row' }, text, send, sent),
    el('div', { className: 'ws-row' }, lesson, reset),
    el('div', { className: 'ws-row' }, watch, take, stop, recordingsButton),
    recBox,
    termBox,
  );
  drawDetails(now());
  scheduleDraw();
}

// ---- the workshop

$('extend').addEventListener('click', () => void request('POST', `/api/instructor/workshops/${workshopId}/extend`, { minutes: 15 }));
$('end').addEventListener('click', async () => {
  const yes = await ask({ title: 'End the workshop?', text: 'Nobody can join after this; learners are told.', ok: 'End workshop' });
  if (yes !== null) void request('POST', `/api/instructor/workshops/${workshopId}/end`);
});
$('message-all').addEventListener('click', async () => {
  const text = await ask({ title: 'Message every learner', ok: 'Send to all', input: { label: 'Message', maxLength: 1000 } });
  if (text !== null) void request('POST', `/api/instructor/workshops/${workshopId}/messages`, { text });
});
for (const input of [filter, stuckOnly, sort]) input.addEventListener('input', scheduleDraw);
// time on exercise (to the second) and "stuck" change with time alone
setInterval(scheduleDraw, 1000);

// for automation (the end-to-end tests)
Object.assign(window, {
  boxlabDashboard: {
    cell: (learnerName: string, key: string) => [...rows.values()].find((r) => r.name === learnerName)?.cells[key] ?? 'todo',
    learners: () => [...rows.values()].map((r) => ({ id: r.learnerId, name: r.name })),
    replay: () => replay,
    screenText: () => {
      if (!view) return '';
      const buffer = view.term.buffer.active;
      const lines: string[] = [];
      for (let i = 0; i < buffer.length; i++) lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
      return lines.join('\n');
    },
  },
});

request<{ instructor: boolean }>('GET', '/api/instructor/session').then(({ instructor }) => {
  if (!instructor) location.href = '/instructor';
  else connect();
}, () => connect());
