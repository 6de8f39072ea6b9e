// Workshops: an instructor's class on one server. Holds the parts (store,
// auth, dashboard hub) and every action on a workshop, each keeping the
// store and the dashboard in step; what an instructor does to learners goes
// to them through the LearnerBus. Knows lessons and learners, nothing of HTTP.
import type { LearnerBus } from '../events.js';
import type { LabsCatalog } from '../labs/loader.js';
import type { Lesson } from '../labs/model.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import type { LessonOutline, Thresholds } from '../contracts/dashboard.js';
import { InstructorAuth } from './auth.js';
import { DashboardHub } from './dashboard.js';
import { exportCommands, exportRecords, type ExportCommand, type ExportRecord } from './export.js';
import { RecordingStore } from '../store/recordings.js';
import { WorkshopStore, type Member, type Workshop, type WorkshopInput } from './store.js';

export interface WorkshopsOptions {
  db: Db;
  bus: LearnerBus;
  /** The instructor's secret. */
  secret: string;
  /** Server key (the identity key): signs instructor sessions and resume links. */
  key: Buffer;
  /** The lessons an instructor can put in a workshop, in catalogue order. */
  catalog: Pick<LabsCatalog, 'lessons'>;
  thresholds?: Partial<Thresholds>;
  log?: Logger;
  now?: () => number;
}

export const INSTRUCTOR_NAME = 'Instructor';

export class Workshops {
  readonly store: WorkshopStore;
  readonly auth: InstructorAuth;
  readonly hub: DashboardHub;
  private readonly outlines: LessonOutline[];
  private readonly now: () => number;

  constructor(private readonly options: WorkshopsOptions) {
    this.now = options.now ?? Date.now;
    this.store = new WorkshopStore(options.db, this.now);
    this.auth = new InstructorAuth(options.secret, options.key, this.now);
    this.outlines = options.catalog.lessons.map((l) => ({ id: l.id, title: l.title, exercises: l.exercises.map((e) => ({ id: e.id, title: e.title })) }));
    this.hub = new DashboardHub({ store: this.store, bus: options.bus, lesson: (id) => this.lesson(id), ...(options.thresholds ? { thresholds: options.thresholds } : {}), now: this.now });
  }

  lessons(): LessonOutline[] {
    return this.outlines;
  }

  lesson(id: string): LessonOutline | undefined {
    return this.outlines.find((l) => l.id === id);
  }

  /** The lessons a workshop's learner sees, in its order; undefined for a learner in no workshop. */
  lessonsFor(learnerId: string): Lesson[] | undefined {
    const member = this.store.membershipsOf(learnerId)[0];
    const w = member && this.store.get(member.workshopId);
    return w?.lessons.map((id) => this.options.catalog.lessons.find((l) => l.id === id)).filter((l) => l !== undefined);
  }

  /** Is the learner a member of a workshop that is open now? (Its capacity counts them, not their network.) */
  vouchesFor(learnerId: string): boolean {
    const now = this.now();
    return this.store.membershipsOf(learnerId).some((m) => {
      const w = this.store.get(m.workshopId);
      return w !== undefined && (w.endsAt === undefined || w.endsAt === null || w.endsAt > now);
    });
  }

  create(input: WorkshopInput): Workshop {
    return this.store.create(input);
  }

  update(id: string, input: WorkshopInput): Workshop | undefined {
    return this.changed(id, this.store.update(id, input));
  }

  remove(id: string): boolean {
    return this.changed(id, this.store.remove(id));
  }

  extend(id: string, minutes: number): Workshop | undefined {
    return this.changed(id, this.store.extend(id, minutes));
  }

  /** Ends the workshop now, and thanks its learners. */
  end(id: string): Workshop | undefined {
    const ended = this.changed(id, this.store.end(id));
    if (ended) this.message(id, 'The workshop has ended. Thank you!');
    return ended;
  }

  /** Throws a JoinError when the workshop cannot take this learner. */
  join(workshopId: string, learnerId: string, name: string): { member: Member; rejoined: boolean } {
    const joined = this.store.join(workshopId, learnerId, name);
    this.hub.memberChanged(workshopId, learnerId);
    return joined;
  }

  /** Sends a message to one learner of the workshop, or to all of them; returns how many it was sent to. */
  message(workshopId: string, text: string, to?: string): number {
    const members = to === undefined ? this.store.members(workshopId) : [this.store.member(workshopId, to)].filter((m) => m !== undefined);
    for (const m of members) this.options.bus.notify(m.learnerId, { type: 'message', from: INSTRUCTOR_NAME, text, at: this.now() });
    return members.length;
  }

  /** The instructor reset a learner's lesson (the player did): their page reloads its state. */
  lessonReset(learnerId: string, lessonId: string): void {
    this.options.bus.notify(learnerId, { type: 'reset', lessonId, at: this.now() });
  }

  takeover(learnerId: string, active: boolean): void {
    this.options.bus.notify(learnerId, { type: 'takeover', active, by: INSTRUCTOR_NAME, at: this.now() });
  }

  exportRecords(workshopId: string): ExportRecord[] {
    const workshop = this.store.get(workshopId);
    if (!workshop) return [];
    return exportRecords(this.store.members(workshopId), this.hub.columnsOf(workshop), this.store.progress(workshopId));
  }

  /** Each member's commands with the verdicts that followed (the timeline keeps them where recording is on). */
  exportCommands(workshopId: string): ExportCommand[] {
    const workshop = this.store.get(workshopId);
    if (!workshop) return [];
    const timeline = new RecordingStore(this.options.db);
    return exportCommands(this.store.members(workshopId), (learner) => timeline.commands(learner), workshop.lessons);
  }

  close(): void {
    this.hub.close();
  }

  private changed<T>(id: string, result: T): T {
    if (result) this.hub.workshopChanged(id);
    return result;
  }
}

export { generateSecret, InstructorAuth } from './auth.js';
