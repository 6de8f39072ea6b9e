// The live side of the instructor's dashboard: for each workshop someone is
// watching, the grid (grid.ts) kept current from the LearnerBus, sent as one
// snapshot on connect and then as deltas: the rows that changed, gathered for
// a moment so a busy class costs a few messages a second, not one per event.
// Built from the store when the first dashboard connects; dropped when the
// last one leaves.
import { toDisposable, type Disposable } from '../lifecycle.js';
import type { LearnerBus, LearnerEvent } from '../events.js';
import { applyEvent, cellKey, currentExercise, type CellStatus, type Column, type DashboardMessage, type LessonOutline, type Row, type Thresholds, type WorkshopView } from '../contracts/dashboard.js';
import type { Member, ProgressRecord, Workshop, WorkshopStore } from './store.js';

export interface DashboardOptions {
  store: WorkshopStore;
  bus: LearnerBus;
  /** A lesson's exercises, by id (undefined: not in the catalogue). */
  lesson: (id: string) => LessonOutline | undefined;
  thresholds?: Partial<Thresholds>;
  /** Changed rows are sent at most this often. */
  flushMs?: number;
  now?: () => number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { stuckMs: 10 * 60_000, stuckAttempts: 8, stuckAttemptsMs: 3 * 60_000 };

type Send = (message: string) => void;

interface LiveWorkshop {
  workshop: Workshop;
  columns: Column[];
  rows: Map<string, Row>;
  subscribers: Set<Send>;
  dirty: Set<string>;
  timer: NodeJS.Timeout | undefined;
}

export function workshopView(w: Workshop): WorkshopView {
  return { id: w.id, name: w.name, code: w.code, lessons: w.lessons, startsAt: w.startsAt, endsAt: w.endsAt, endedAt: w.endedAt, capacity: w.capacity };
}

export class DashboardHub {
  readonly thresholds: Thresholds;
  private readonly live = new Map<string, LiveWorkshop>();
  private readonly subscription: Disposable;
  private readonly now: () => number;

  constructor(private readonly options: DashboardOptions) {
    this.thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
    this.now = options.now ?? Date.now;
    this.subscription = options.bus.on((event) => this.onEvent(event));
  }

  columnsOf(workshop: Workshop): Column[] {
    return workshop.lessons.flatMap((id) => {
      const lesson = this.options.lesson(id);
      return lesson ? lesson.exercises.map((e) => ({ lessonId: id, lessonTitle: lesson.title, exerciseId: e.id, title: e.title })) : [];
    });
  }

  /** Starts sending a workshop's grid to `send` (a snapshot now, deltas after). */
  subscribe(workshopId: string, send: Send): Disposable {
    let live = this.live.get(workshopId);
    if (!live) {
      const workshop = this.options.store.get(workshopId);
      if (!workshop) throw new Error(`no workshop ${workshopId}`);
      live = this.load(workshop);
      this.live.set(workshopId, live);
    }
    live.subscribers.add(send);
    send(JSON.stringify(this.snapshot(live)));
    const it = live;
    return toDisposable(() => {
      it.subscribers.delete(send);
      if (it.subscribers.size === 0 && this.live.get(workshopId) === it) {
        clearTimeout(it.timer);
        this.live.delete(workshopId);
      }
    });
  }

  /** The grid as a snapshot (for the export's "current" view and for tests). */
  grid(workshopId: string): Extract<DashboardMessage, { type: 'snapshot' }> | undefined {
    const live = this.live.get(workshopId);
    if (live) return this.snapshot(live);
    const workshop = this.options.store.get(workshopId);
    return workshop && this.snapshot(this.load(workshop));
  }

  /** A learner joined (or was renamed): their row appears. */
  memberChanged(workshopId: string, learnerId: string): void {
    const live = this.live.get(workshopId);
    const member = this.options.store.member(workshopId, learnerId);
    if (!live || !member) return;
    const records = this.options.store.progress(workshopId).filter((r) => r.learnerId === learnerId);
    const row = this.buildRow(member, live.columns, records);
    row.commands = live.rows.get(learnerId)?.commands ?? []; // in memory only: a rename keeps them
    live.rows.set(learnerId, row);
    this.markDirty(live, learnerId);
  }

  /** The workshop's settings changed (lessons, end): dashboards get it, or a new snapshot if the columns changed. */
  workshopChanged(workshopId: string): void {
    const live = this.live.get(workshopId);
    if (!live) return;
    const workshop = this.options.store.get(workshopId);
    if (!workshop) {
      for (const send of live.subscribers) send(JSON.stringify({ type: 'workshop', now: this.now(), workshop: { ...workshopView(live.workshop), endedAt: live.workshop.endedAt ?? this.now() } }));
      return;
    }
    if (JSON.stringify(workshop.lessons) !== JSON.stringify(live.workshop.lessons)) {
      const fresh = this.load(workshop);
      live.workshop = fresh.workshop;
      live.columns = fresh.columns;
      live.rows = fresh.rows;
      const message = JSON.stringify(this.snapshot(live));
      for (const send of live.subscribers) send(message);
      return;
    }
    live.workshop = workshop;
    const message = JSON.stringify({ type: 'workshop', now: this.now(), workshop: workshopView(workshop) } satisfies DashboardMessage);
    for (const send of live.subscribers) send(message);
  }

  close(): void {
    this.subscription.dispose();
    for (const live of this.live.values()) clearTimeout(live.timer);
    this.live.clear();
  }

  private snapshot(live: LiveWorkshop): Extract<DashboardMessage, { type: 'snapshot' }> {
    return { type: 'snapshot', now: this.now(), workshop: workshopView(live.workshop), columns: live.columns, rows: [...live.rows.values()], thresholds: this.thresholds };
  }

  private load(workshop: Workshop): LiveWorkshop {
    const columns = this.columnsOf(workshop);
    const records = new Map<string, ProgressRecord[]>();
    for (const r of this.options.store.progress(workshop.id)) {
      let list = records.get(r.learnerId);
      if (!list) records.set(r.learnerId, (list = []));
      list.push(r);
    }
    const rows = new Map<string, Row>();
    for (const member of this.options.store.members(workshop.id)) rows.set(member.learnerId, this.buildRow(member, columns, records.get(member.learnerId) ?? []));
    return { workshop, columns, rows, subscribers: new Set(), dirty: new Set(), timer: undefined };
  }

  private buildRow(member: Member, columns: Column[], records: ProgressRecord[]): Row {
    const inWorkshop = new Set(columns.map((c) => cellKey(c.lessonId, c.exerciseId)));
    const cells: Record<string, CellStatus> = {};
    const revealed: Row['revealed'] = {};
    let hints = 0;
    let solutions = 0;
    let lastActive = member.joinedAt;
    const byKey = new Map<string, ProgressRecord>();
    for (const r of records) {
      const key = cellKey(r.lessonId, r.exerciseId);
      if (!inWorkshop.has(key)) continue;
      byKey.set(key, r);
      if (r.completedAt !== null) cells[key] = 'done';
      else if (r.lastReason !== null) cells[key] = 'failed';
      hints += r.hintsUsed;
      if (r.solutionRevealed) solutions++;
      if (r.hintsUsed > 0 || r.solutionRevealed) revealed[key] = { hints: r.hintsUsed, solution: r.solutionRevealed };
      lastActive = Math.max(lastActive, r.lastCheckedAt ?? 0);
    }
    const lessons = new Set(columns.map((c) => c.lessonId));
    const opened = this.options.store.lessonsOpened(member.learnerId).find((o) => lessons.has(o.lessonId));
    const current = currentExercise(columns, cells, opened?.lessonId ?? null);
    let since = Math.max(member.joinedAt, opened?.openedAt ?? 0);
    for (const r of byKey.values()) if (r.lessonId === opened?.lessonId && r.completedAt !== null) since = Math.max(since, r.completedAt);
    const currentRecord = current === null ? undefined : byKey.get(current);
    const failing = currentRecord && currentRecord.completedAt === null && currentRecord.lastReason !== null ? currentRecord : undefined;
    return {
      learnerId: member.learnerId,
      name: member.name,
      joinedAt: member.joinedAt,
      cells,
      current,
      since,
      attempts: failing?.attempts ?? 0,
      reason: failing?.lastReason ?? null,
      lastActive: Math.max(lastActive, opened?.openedAt ?? 0),
      hints,
      solutions,
      revealed,
      commands: [],
    };
  }

  private onEvent(event: LearnerEvent): void {
    for (const live of this.live.values()) {
      const row = live.rows.get(event.learnerId);
      if (!row) continue;
      const { learnerId: _, ...gridEvent } = event;
      if (applyEvent(row, live.columns, gridEvent)) this.markDirty(live, event.learnerId);
    }
  }

  private markDirty(live: LiveWorkshop, learnerId: string): void {
    live.dirty.add(learnerId);
    live.timer ??= setTimeout(() => this.flush(live), this.options.flushMs ?? 100);
  }

  private flush(live: LiveWorkshop): void {
    live.timer = undefined;
    const rows = [...live.dirty].map((id) => live.rows.get(id)).filter((r): r is Row => r !== undefined);
    live.dirty.clear();
    if (rows.length === 0) return;
    const message = JSON.stringify({ type: 'rows', now: this.now(), rows } satisfies DashboardMessage);
    for (const send of live.subscribers) send(message);
  }
}
