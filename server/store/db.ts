// The SQLite database: one file in the data dir, WAL, migrations by
// PRAGMA user_version. Everything boxlab must not lose lives here.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export type Db = Database.Database;

/** Each entry upgrades the schema by one version; never edit one that has shipped. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE learners (
    id            TEXT PRIMARY KEY,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL
  );
  CREATE TABLE lesson_progress (
    learner_id    TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    lesson_id     TEXT NOT NULL,
    started_at    INTEGER NOT NULL,
    opened_at     INTEGER NOT NULL,
    PRIMARY KEY (learner_id, lesson_id)
  );
  CREATE TABLE exercise_progress (
    learner_id        TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    lesson_id         TEXT NOT NULL,
    exercise_id       TEXT NOT NULL,
    completed_at      INTEGER,
    attempts          INTEGER NOT NULL DEFAULT 0,
    hints_used        INTEGER NOT NULL DEFAULT 0,
    solution_revealed INTEGER NOT NULL DEFAULT 0,
    last_reason       TEXT,
    last_checked_at   INTEGER,
    started_at        INTEGER,
    PRIMARY KEY (learner_id, lesson_id, exercise_id)
  );
  `,
  // workshops (server/workshops): an instructor's class, and who joined it under which name
  `
  CREATE TABLE workshops (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    code        TEXT NOT NULL UNIQUE,
    lessons     TEXT NOT NULL,
    starts_at   INTEGER,
    ends_at     INTEGER,
    capacity    INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    ended_at    INTEGER
  );
  CREATE TABLE workshop_learners (
    workshop_id   TEXT NOT NULL REFERENCES workshops(id) ON DELETE CASCADE,
    learner_id    TEXT NOT NULL REFERENCES learners(id) ON DELETE CASCADE,
    display_name  TEXT NOT NULL,
    joined_at     INTEGER NOT NULL,
    PRIMARY KEY (workshop_id, learner_id)
  );
  CREATE INDEX workshop_learners_by_learner ON workshop_learners(learner_id);
  `,
  // terminal recordings (server/recording) and the timeline on their clock: what happened in a lesson, and when
  `
  CREATE TABLE recordings (
    id           TEXT PRIMARY KEY,
    learner_id   TEXT NOT NULL,
    lesson_id    TEXT NOT NULL,
    terminal_id  TEXT NOT NULL,
    file         TEXT NOT NULL,
    cols         INTEGER NOT NULL,
    rows         INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    bytes        INTEGER NOT NULL DEFAULT 0,
    stopped      TEXT
  );
  CREATE INDEX recordings_by_learner ON recordings(learner_id, started_at);
  CREATE TABLE timeline (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    learner_id   TEXT NOT NULL,
    lesson_id    TEXT,
    at           INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    exercise_id  TEXT,
    status       TEXT,
    reason       TEXT,
    text         TEXT,
    terminal_id  TEXT
  );
  CREATE INDEX timeline_by_learner ON timeline(learner_id, at);
  CREATE INDEX timeline_by_age ON timeline(at);
  `,
];

/** Opens (creating if needed) the database at `file`, or in memory for ':memory:'. */
export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  // WAL: readers never block the writer; FULL: a committed transaction survives a crash of the machine too
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`the database was written by a newer boxlab (schema ${current}, this one knows ${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
