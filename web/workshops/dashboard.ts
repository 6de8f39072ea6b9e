// The workshop dashboard: the learners × exercises grid, live over a
// WebSocket (a snapshot, then changed rows), sorted and filtered here, redrawn
// at most a few times a second; and, for the learner picked, their terminal
// (read-only, or taken over), a message, a lesson reset.
import { cellKey, doneCount, isStuck, totals, type Column, type DashboardMessage, type Row, type Thresholds, type WorkshopView } from '../../server/contracts/dashboard.js';
import { socketUrl } from '../terminal/api.js';
import { TerminalView } from '../terminal/view.js';
import { el, request } from './request.js';

const workshopId = /^\/instructor\/workshops\/([^/]+)$/.exec(location.pathname)?.[1] ?? '';
const grid = document.getElementById('grid') as HTMLTableElement;
const side = document.getElementById('side')!;
const filter = document.getElementById('filter') as HTMLInputElement;
const stuckOnly = document.getElementById('stuck-only') as HTMLInputElement;
const sort = document.getElementById('sort') as HTMLSelectElement;
const $ = (id: string) => document.getElementById(id)!;

let workshop: WorkshopView | undefined;
let columns: Column[] = [];
let thresholds: Thresholds = { stuckMs: 600_000, stuckFailures: 8 };
const rows = new Map<string, Row>();
/** Server time minus ours, so "time on exercise" is right whatever this machine's clock says. */
let skew = 0;
let selected: string | undefined;
let drawScheduled = false;
let connected = false;

const now = () => Date.now() + skew;

function minutes(ms: number): string {
  const m = Math.floor(ms / 60_000);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

function drawHeader(): void {
  if (!workshop) return;
  $('ws-name').textContent = workshop.name;
  $('ws-code').textContent = workshop.code;
  const status = workshop.endedAt ? 'ended' : workshop.endsAt ? `ends ${new Date(workshop.endsAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}` : 'open';
  $('ws-status').textContent = `${status}${connected ? '' : ' · reconnecting…'}`;
  $('ws-link').textContent = `join: ${location.origin}/join/${workshop.code}`;
  ($('export-csv') as HTMLAnchorElement).href = `/api/instructor/workshops/${workshopId}/export.csv`;
  ($('export-json') as HTMLAnchorElement).href = `/api/instructor/workshops/${workshopId}/export.json`;
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
  const head = el('thead');
  const lessonRow = el('tr', {}, el('th', { textContent: '' }), el('th', { textContent: '' }), el('th', { textContent: '' }));
  let prev = '';
  for (const c of columns) {
    if (c.lessonId === prev) {
      (lessonRow.lastChild as HTMLTableCellElement).colSpan++;
      continue;
    }
    prev = c.lessonId;
    lessonRow.append(el('th', { textContent: c.lessonTitle, colSpan: 1 }));
  }
  const exRow = el('tr', {}, el('th', { textContent: 'Learner' }), el('th', { textContent: 'Done' }), el('th', { textContent: 'On exercise' }), ...columns.map((c) => el('th', { className: 'ws-ex', textContent: c.title, title: `${c.lessonId}/${c.exerciseId}` })));
  head.append(lessonRow, exRow);

  const list = visibleRows(at);
  const body = el('tbody');
  for (const r of list) {
    const stuck = isStuck(r, at, thresholds);
    const tr = el('tr', { className: r.learnerId === selected ? 'ws-selected' : '' });
    tr.dataset.learner = r.learnerId;
    const current = r.current ? columns.find((c) => cellKey(c.lessonId, c.exerciseId) === r.current) : undefined;
    tr.append(
      el('td', { className: stuck ? 'ws-stuck' : '', textContent: `${r.name}${stuck ? ' ⚠ stuck' : ''}${r.waiting ? ` · waiting for a sandbox (#${r.waiting})` : ''}` }),
      el('td', { textContent: `${doneCount(r)}/${columns.length}` }),
      el('td', { textContent: current ? `${current.title} · ${minutes(at - r.since)}${r.failures ? ` · ${r.failures} failed` : ''}` : 'all done' }),
    );
    for (const c of columns) {
      const key = cellKey(c.lessonId, c.exerciseId);
      const td = el('td', { className: 'ws-cell', title: `${r.name}: ${c.title}` });
      td.dataset.status = r.cells[key] ?? 'todo';
      td.dataset.key = key;
      if (key === r.current) td.dataset.current = 'true';
      tr.append(td);
    }
    tr.addEventListener('click', () => select(r.learnerId));
    body.append(tr);
  }
  const sums = totals(columns, [...rows.values()]);
  const foot = el('tfoot', {}, el('tr', {}, el('td', { textContent: 'Completed' }), el('td', { textContent: '' }), el('td', { textContent: '' }), ...sums.map((n) => el('td', { textContent: String(n) }))));
  grid.replaceChildren(head, body, foot);
  const stuckCount = [...rows.values()].filter((r) => isStuck(r, at, thresholds)).length;
  const waiting = [...rows.values()].filter((r) => r.waiting).length;
  $('ws-counts').textContent = `${rows.size} learners · ${stuckCount} stuck${waiting ? ` · ${waiting} waiting for a sandbox (the server is full)` : ''} · showing ${list.length}`;
  drawHeader();
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

function select(learnerId: string): void {
  selected = learnerId;
  const row = rows.get(learnerId);
  if (!row) return;
  closeTerminal();
  side.hidden = false;
  const termBox = el('div', { className: 'ws-term', id: 'learner-terminal' });
  const watch = el('button', { type: 'button', className: 'bx-button', id: 'watch', textContent: 'Watch terminal' });
  const take = el('button', { type: 'button', className: 'bx-button', id: 'take-over', textContent: 'Take over typing' });
  const stop = el('button', { type: 'button', className: 'bx-button', textContent: 'Close' });
  watch.addEventListener('click', () => void openTerminal(learnerId, termBox, false));
  take.addEventListener('click', () => {
    if (confirm(`Type in ${row.name}'s terminal? They will be told.`)) void openTerminal(learnerId, termBox, true);
  });
  stop.addEventListener('click', () => {
    closeTerminal();
    termBox.replaceChildren();
  });
  const text = el('textarea', { id: 'message-text', rows: 2, maxLength: 1000, placeholder: `A message to ${row.name}` });
  const send = el('button', { type: 'button', className: 'bx-button', id: 'send-message', textContent: 'Send' });
  const sent = el('span', { className: 'ws-ok' });
  send.addEventListener('click', async () => {
    if (!text.value.trim()) return;
    await request('POST', `/api/instructor/workshops/${workshopId}/messages`, { text: text.value, to: learnerId });
    text.value = '';
    sent.textContent = 'sent';
  });
  const lesson = el('select', { id: 'reset-lesson' }, ...(workshop?.lessons ?? []).map((id) => el('option', { value: id, textContent: columns.find((c) => c.lessonId === id)?.lessonTitle ?? id })));
  const reset = el('button', { type: 'button', className: 'bx-button', textContent: 'Reset lesson' });
  reset.addEventListener('click', async () => {
    if (!confirm(`Reset ${row.name}'s lesson? Their sandbox starts the lesson afresh.`)) return;
    await request('POST', `/api/instructor/workshops/${workshopId}/learners/${learnerId}/reset`, { lessonId: lesson.value });
  });
  side.replaceChildren(
    el('h2', { textContent: row.name }),
    el('div', { className: 'ws-row' }, watch, take, stop),
    termBox,
    el('div', { className: 'ws-row' }, text, send, sent),
    el('div', { className: 'ws-row' }, lesson, reset),
  );
  scheduleDraw();
}

// ---- the workshop

$('extend').addEventListener('click', () => void request('POST', `/api/instructor/workshops/${workshopId}/extend`, { minutes: 15 }));
$('end').addEventListener('click', () => {
  if (confirm('End the workshop? Nobody can join after this; learners are told.')) void request('POST', `/api/instructor/workshops/${workshopId}/end`);
});
$('message-all').addEventListener('click', () => {
  const text = prompt('A message to every learner:');
  if (text?.trim()) void request('POST', `/api/instructor/workshops/${workshopId}/messages`, { text });
});
for (const input of [filter, stuckOnly, sort]) input.addEventListener('input', scheduleDraw);
// time on exercise and "stuck" change with time alone
setInterval(scheduleDraw, 15_000);

// for automation (the end-to-end tests)
Object.assign(window, {
  boxlabDashboard: {
    cell: (learnerName: string, key: string) => [...rows.values()].find((r) => r.name === learnerName)?.cells[key] ?? 'todo',
    learners: () => [...rows.values()].map((r) => ({ id: r.learnerId, name: r.name })),
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
