// Workshops and their learners, in SQLite (tables from server/store/db.ts).
// Joining is one transaction, so the capacity holds however many learners
// press "join" at the same moment.
import { randomBytes, randomInt } from 'node:crypto';
import type { WorkshopView } from '../contracts/dashboard.js';
import type { Db } from '../store/db.js';
import { toProgress, type ExerciseProgress, type ExerciseRow } from '../store/progress.js';

/** A workshop as stored: its settings, as the dashboard sees them, and when it was made. */
export interface Workshop extends WorkshopView {
  createdAt: number;
}

export interface WorkshopInput {
  name: string;
  lessons: string[];
  startsAt?: number | null;
  endsAt?: number | null;
  capacity: number;
}

export interface Member {
  workshopId: string;
  learnerId: string;
  name: string;
  joinedAt: number;
}

export interface ProgressRecord extends ExerciseProgress {
  learnerId: string;
  name: string;
  lessonId: string;
}

interface ProgressRow extends ExerciseRow {
  learner_id: string;
  display_name: string;
  lesson_id: string;
}

export class JoinError extends Error {
  constructor(readonly code: 'no-workshop' | 'not-started' | 'over' | 'full' | 'name-taken', message: string) {
    super(message);
  }
}

interface WorkshopRow {
  id: string;
  name: string;
  code: string;
  lessons: string;
  starts_at: number | null;
  ends_at: number | null;
  capacity: number;
  created_at: number;
  ended_at: number | null;
}

interface MemberRow {
  workshop_id: string;
  learner_id: string;
  display_name: string;
  joined_at: number;
}

const toWorkshop = (r: WorkshopRow): Workshop => ({
  id: r.id,
  name: r.name,
  code: r.code,
  lessons: JSON.parse(r.lessons) as string[],
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  capacity: r.capacity,
  createdAt: r.created_at,
  endedAt: r.ended_at,
});

const toMember = (r: MemberRow): Member => ({ workshopId: r.workshop_id, learnerId: r.learner_id, name: r.display_name, joinedAt: r.joined_at });

// no 0/O, 1/I/L: read off a projector without doubt
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
export const CODE_LENGTH = 6;

export function newJoinCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** A typed code, forgiving case, spaces and dashes. */
export function normalizeCode(text: string): string {
  return text.toUpperCase().replace(/[\s-]/g, '');
}

/** Is the workshop open for joining at `now`? Undefined if it is, else why not. */
export function closedReason(w: Workshop, now: number): JoinError | undefined {
  if (w.endedAt !== null || (w.endsAt !== null && now >= w.endsAt)) return new JoinError('over', `the workshop "${w.name}" is over`);
  if (w.startsAt !== null && now < w.startsAt) {
    return new JoinError('not-started', `the workshop "${w.name}" opens at ${new Date(w.startsAt).toISOString().slice(11, 16)} UTC`);
  }
  return undefined;
}

export class WorkshopStore {
  private readonly stmts;

  constructor(private readonly db: Db, private readonly now: () => number = Date.now) {
    this.stmts = {
      insert: db.prepare(
        'INSERT INTO workshops (id, name, code, lessons, starts_at, ends_at, capacity, created_at) VALUES (@id, @name, @code, @lessons, @startsAt, @endsAt, @capacity, @createdAt)',
      ),
      update: db.prepare('UPDATE workshops SET name = @name, lessons = @lessons, starts_at = @startsAt, ends_at = @endsAt, capacity = @capacity WHERE id = @id'),
      get: db.prepare('SELECT * FROM workshops WHERE id = ?'),
      byCode: db.prepare('SELECT * FROM workshops WHERE code = ?'),
      all: db.prepare('SELECT * FROM workshops ORDER BY created_at DESC'),
      remove: db.prepare('DELETE FROM workshops WHERE id = ?'),
      setEnds: db.prepare('UPDATE workshops SET ends_at = ?, ended_at = NULL WHERE id = ?'),
      end: db.prepare('UPDATE workshops SET ended_at = ? WHERE id = ? AND ended_at IS NULL'),
      members: db.prepare('SELECT * FROM workshop_learners WHERE workshop_id = ? ORDER BY joined_at, display_name'),
      member: db.prepare('SELECT * FROM workshop_learners WHERE workshop_id = ? AND learner_id = ?'),
      memberships: db.prepare('SELECT * FROM workshop_learners WHERE learner_id = ? ORDER BY joined_at DESC'),
      count: db.prepare('SELECT COUNT(*) AS n FROM workshop_learners WHERE workshop_id = ?'),
      nameTaken: db.prepare('SELECT 1 FROM workshop_learners WHERE workshop_id = ? AND display_name = ? COLLATE NOCASE AND learner_id != ?'),
      touchLearner: db.prepare('INSERT INTO learners (id, created_at, last_seen_at) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET last_seen_at = excluded.last_seen_at'),
      opened: db.prepare('SELECT lesson_id, opened_at FROM lesson_progress WHERE learner_id = ? ORDER BY opened_at DESC'),
      progress: db.prepare(
        `SELECT m.learner_id, m.display_name, e.lesson_id, e.exercise_id, e.completed_at, e.attempts, e.hints_used, e.solution_revealed, e.last_reason, e.last_checked_at, e.started_at
           FROM workshop_learners m JOIN exercise_progress e ON e.learner_id = m.learner_id
          WHERE m.workshop_id = ? ORDER BY m.joined_at, m.display_name, e.lesson_id, e.exercise_id`,
      ),
      addMember: db.prepare(
        'INSERT INTO workshop_learners (workshop_id, learner_id, display_name, joined_at) VALUES (?, ?, ?, ?) ON CONFLICT(workshop_id, learner_id) DO UPDATE SET display_name = excluded.display_name',
      ),
    };
  }

  create(input: WorkshopInput): Workshop {
    for (;;) {
      const row = {
        id: `ws-${randomBytes(6).toString('hex')}`,
        name: input.name,
        code: newJoinCode(),
        lessons: JSON.stringify(input.lessons),
        startsAt: input.startsAt ?? null,
        endsAt: input.endsAt ?? null,
        capacity: input.capacity,
        createdAt: this.now(),
      };
      try {
        this.stmts.insert.run(row);
        return this.get(row.id)!;
      } catch (err) {
        // a join code already in use: draw another
        if ((err as { code?: string }).code !== 'SQLITE_CONSTRAINT_UNIQUE') throw err;
      }
    }
  }

  update(id: string, input: WorkshopInput): Workshop | undefined {
    this.stmts.update.run({ id, name: input.name, lessons: JSON.stringify(input.lessons), startsAt: input.startsAt ?? null, endsAt: input.endsAt ?? null, capacity: input.capacity });
    return this.get(id);
  }

  get(id: string): Workshop | undefined {
    const row = this.stmts.get.get(id) as WorkshopRow | undefined;
    return row && toWorkshop(row);
  }

  byCode(code: string): Workshop | undefined {
    const row = this.stmts.byCode.get(normalizeCode(code)) as WorkshopRow | undefined;
    return row && toWorkshop(row);
  }

  list(): Workshop[] {
    return (this.stmts.all.all() as WorkshopRow[]).map(toWorkshop);
  }

  remove(id: string): boolean {
    return this.stmts.remove.run(id).changes > 0;
  }

  /** Moves the end by `minutes` from the later of now and the planned end (reopening an ended workshop). */
  extend(id: string, minutes: number): Workshop | undefined {
    const w = this.get(id);
    if (!w) return undefined;
    const now = this.now();
    const base = w.endedAt !== null ? now : Math.max(now, w.endsAt ?? now);
    this.stmts.setEnds.run(base + minutes * 60_000, id);
    return this.get(id);
  }

  end(id: string): Workshop | undefined {
    this.stmts.end.run(this.now(), id);
    return this.get(id);
  }

  members(workshopId: string): Member[] {
    return (this.stmts.members.all(workshopId) as MemberRow[]).map(toMember);
  }

  member(workshopId: string, learnerId: string): Member | undefined {
    const row = this.stmts.member.get(workshopId, learnerId) as MemberRow | undefined;
    return row && toMember(row);
  }

  /** The workshops a learner joined, latest first. */
  membershipsOf(learnerId: string): Member[] {
    return (this.stmts.memberships.all(learnerId) as MemberRow[]).map(toMember);
  }

  /** The lessons a learner opened, latest first. */
  lessonsOpened(learnerId: string): Array<{ lessonId: string; openedAt: number }> {
    return (this.stmts.opened.all(learnerId) as Array<{ lesson_id: string; opened_at: number }>).map((r) => ({ lessonId: r.lesson_id, openedAt: r.opened_at }));
  }

  /** Every exercise record of the workshop's learners (any lesson; the caller keeps the workshop's). */
  progress(workshopId: string): ProgressRecord[] {
    return (this.stmts.progress.all(workshopId) as ProgressRow[]).map((r) => ({
      learnerId: r.learner_id,
      name: r.display_name,
      lessonId: r.lesson_id,
      ...toProgress(r),
    }));
  }

  /**
   * Adds the learner under `name`, or renames one who already joined (a
   * returning learner never counts twice against the capacity).
   */
  join(workshopId: string, learnerId: string, name: string): { workshop: Workshop; member: Member; rejoined: boolean } {
    return this.db.transaction(() => {
      const workshop = this.get(workshopId);
      if (!workshop) throw new JoinError('no-workshop', 'no workshop has this code');
      const existing = this.member(workshopId, learnerId);
      const now = this.now();
      if (!existing) {
        const closed = closedReason(workshop, now);
        if (closed) throw closed;
        const { n } = this.stmts.count.get(workshopId) as { n: number };
        if (n >= workshop.capacity) throw new JoinError('full', `the workshop "${workshop.name}" is full (${workshop.capacity} learners); ask your instructor`);
      }
      if (this.stmts.nameTaken.get(workshopId, name, learnerId)) throw new JoinError('name-taken', `someone in this workshop already goes by "${name}"; pick another name`);
      this.stmts.touchLearner.run(learnerId, now, now);
      this.stmts.addMember.run(workshopId, learnerId, name, now);
      return { workshop, member: this.member(workshopId, learnerId)!, rejoined: existing !== undefined };
    })();
  }
}
