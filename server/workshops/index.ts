// Workshops: an instructor's class on one server. This wires the parts
// (store, auth, dashboard hub, rate limits) and holds the actions an
// instructor takes on learners, which go to them through the LearnerBus.
import type { Config } from '../config.js';
import type { LearnerBus } from '../events.js';
import type { LabsCatalog } from '../labs/loader.js';
import type { LessonPlayer } from '../player/player.js';
import type { Logger } from '../log.js';
import type { Db } from '../store/db.js';
import { ProgressStore } from '../store/progress.js';
import { generateSecret, InstructorAuth } from './auth.js';
import { DashboardHub, type LessonOutline } from './dashboard.js';
import { exportRecords, type ExportRecord } from './export.js';
import type { Thresholds } from './grid.js';
import { RateLimiter, type RateLimit } from './rate-limit.js';
import { WorkshopStore } from './store.js';

export interface WorkshopsOptions {
  db: Db;
  bus: LearnerBus;
  /** The instructor's secret. */
  secret: string;
  /** Server key (the identity key): signs instructor sessions and resume links. */
  key: Buffer;
  /** The lessons an instructor can put in a workshop, in catalogue order. */
  lessons: () => LessonOutline[];
  /**
   * Resets a learner's lesson: its sandbox and its progress (the lesson
   * player's job). Without it, only the progress is reset and the learner's
   * page is told to reload.
   */
  resetLesson?: (learnerId: string, lessonId: string) => Promise<void>;
  thresholds?: Partial<Thresholds>;
  limits?: { join?: RateLimit; joinPerLearner?: RateLimit; login?: RateLimit; checks?: RateLimit };
  log?: Logger;
  now?: () => number;
}

// a whole room joins from behind one NAT address: the per-address limit is for floods, the per-learner one for scripts
export const DEFAULT_LIMITS = {
  join: { burst: 150, perSecond: 5 },
  lookup: { burst: 60, perSecond: 2 },
  joinPerLearner: { burst: 5, perSecond: 0.2 },
  login: { burst: 5, perSecond: 0.1 },
  checks: { burst: 10, perSecond: 1 },
} satisfies Record<string, RateLimit>;

export const INSTRUCTOR_NAME = 'Instructor';

export class Workshops {
  readonly store: WorkshopStore;
  readonly auth: InstructorAuth;
  readonly hub: DashboardHub;
  readonly limiters: { join: RateLimiter; lookup: RateLimiter; joinPerLearner: RateLimiter; login: RateLimiter; checks: RateLimiter };
  readonly bus: LearnerBus;
  private readonly now: () => number;

  constructor(private readonly options: WorkshopsOptions) {
    this.now = options.now ?? Date.now;
    this.bus = options.bus;
    this.store = new WorkshopStore(options.db, this.now);
    this.auth = new InstructorAuth(options.secret, options.key, this.now);
    this.hub = new DashboardHub({ store: this.store, bus: options.bus, lesson: (id) => this.lesson(id), ...(options.thresholds ? { thresholds: options.thresholds } : {}), now: this.now });
    const limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.limiters = {
      join: new RateLimiter(limits.join, this.now),
      lookup: new RateLimiter(limits.lookup, this.now),
      joinPerLearner: new RateLimiter(limits.joinPerLearner, this.now),
      login: new RateLimiter(limits.login, this.now),
      checks: new RateLimiter(limits.checks, this.now),
    };
  }

  /** Is the learner a member of a workshop that is open now? (Its capacity counts them, not their network.) */
  vouchesFor(learnerId: string): boolean {
    const now = this.now();
    return this.store.membershipsOf(learnerId).some((m) => {
      const w = this.store.get(m.workshopId);
      return w !== undefined && (w.endsAt === undefined || w.endsAt === null || w.endsAt > now);
    });
  }

  lessons(): LessonOutline[] {
    return this.options.lessons();
  }

  lesson(id: string): LessonOutline | undefined {
    return this.options.lessons().find((l) => l.id === id);
  }

  /** Sends a message to one learner of the workshop, or to all of them; returns how many it was sent to. */
  message(workshopId: string, text: string, to?: string): number {
    const members = to === undefined ? this.store.members(workshopId) : [this.store.member(workshopId, to)].filter((m) => m !== undefined);
    for (const m of members) this.bus.notify(m.learnerId, { type: 'message', from: INSTRUCTOR_NAME, text, at: this.now() });
    return members.length;
  }

  async resetLesson(learnerId: string, lessonId: string): Promise<void> {
    if (this.options.resetLesson) return this.options.resetLesson(learnerId, lessonId);
    const at = this.now();
    new ProgressStore(this.options.db).resetLesson(learnerId, lessonId);
    this.bus.emit({ type: 'reset', learnerId, lessonId, at });
    this.bus.notify(learnerId, { type: 'reset', lessonId, at });
  }

  takeover(learnerId: string, active: boolean): void {
    this.bus.notify(learnerId, { type: 'takeover', active, by: INSTRUCTOR_NAME, at: this.now() });
  }

  exportRecords(workshopId: string): ExportRecord[] {
    const workshop = this.store.get(workshopId);
    if (!workshop) return [];
    return exportRecords(this.store.members(workshopId), this.hub.columnsOf(workshop), this.store.progress(workshopId));
  }

  close(): void {
    this.hub.close();
  }
}

export { InstructorAuth, generateSecret, INSTRUCTOR_COOKIE } from './auth.js';
export type { LessonOutline } from './dashboard.js';

/** Workshops on a running server: the instructor's secret (printed when generated), the catalogue, the player's reset, and the lessons a member sees. */
export function startWorkshops(deps: { config: Config; db: Db; bus: LearnerBus; key: Buffer; catalog: LabsCatalog; player: LessonPlayer; log?: Logger }): Workshops {
  const { config, catalog, player } = deps;
  let secret = config.instructorSecret;
  if (!secret) {
    secret = generateSecret();
    // once, on the console (never in the JSON log, which may be shipped elsewhere)
    process.stderr.write(`boxlab: instructor secret for this run: ${secret}\n        (set BOXLAB_INSTRUCTOR_SECRET to choose your own)\n`);
  }
  const outlines: LessonOutline[] = catalog.lessons.map((l) => ({ id: l.id, title: l.title, exercises: l.exercises.map((e) => ({ id: e.id, title: e.title })) }));
  const workshops = new Workshops({
    db: deps.db,
    bus: deps.bus,
    secret,
    key: deps.key,
    lessons: () => outlines,
    resetLesson: async (learnerId, lessonId) => {
      await player.reset(learnerId, lessonId);
      deps.bus.notify(learnerId, { type: 'reset', lessonId, at: Date.now() });
    },
    ...(deps.log ? { log: deps.log } : {}),
  });
  // a workshop's learners see its lessons, in its order
  const everyone = player.lessonsFor;
  player.lessonsFor = (learnerId) => {
    const member = workshops.store.membershipsOf(learnerId)[0];
    const w = member && workshops.store.get(member.workshopId);
    if (!w) return everyone(learnerId);
    return w.lessons.map((id) => catalog.lessons.find((l) => l.id === id)).filter((l) => l !== undefined);
  };
  return workshops;
}
