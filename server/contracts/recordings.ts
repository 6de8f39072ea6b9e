// Terminal recordings and the timeline beside them, as the learner's history
// page and the instructor's replay get them (server/http/recordings.ts).
// Times are milliseconds since the epoch; `time` is seconds into a recording.

export interface RecordingJson {
  id: string;
  lessonId: string;
  terminalId: string;
  cols: number;
  rows: number;
  startedAt: number;
  /** null while the terminal is still open. */
  endedAt: number | null;
  /** Compressed bytes on disk. */
  bytes: number;
  /** Why recording stopped before the terminal ended (a size cap), if it did. */
  stopped: string | null;
}

export type TimelineKind = 'opened' | 'reset' | 'check' | 'hint' | 'solution' | 'command' | 'takeover' | 'message';

export interface TimelineEntry {
  at: number;
  kind: TimelineKind;
  lessonId: string | null;
  exerciseId: string | null;
  /** check: failed or done; takeover: on or off. */
  status: string | null;
  /** A failed check's reason, in its words. */
  reason: string | null;
  /** command: the line entered; message: its text; hint: how many are shown. */
  text: string | null;
  terminalId: string | null;
}

/** A command the learner entered, and the first check verdict that followed it (before their next command). */
export interface CommandVerdict {
  at: number;
  lessonId: string | null;
  line: string;
  verdict: { exerciseId: string; status: string; reason: string | null; at: number } | null;
}

/** A mark on a replay's scrub bar. */
export interface ReplayMarker {
  /** Seconds into the recording. */
  time: number;
  label: string;
  entry: TimelineEntry;
}

export interface ReplayJson {
  recording: RecordingJson;
  /** Where the plain .cast is fetched from. */
  cast: string;
  markers: ReplayMarker[];
  /** The commands typed in this terminal, each with its verdict, and its time into the recording. */
  commands: Array<CommandVerdict & { time: number }>;
}

/** The label a timeline entry has on the scrub bar, or undefined for entries that are not marked there. */
export function markerLabel(e: TimelineEntry): string | undefined {
  switch (e.kind) {
    case 'check':
      return e.status === 'failed' ? `✗ ${e.exerciseId}: ${e.reason ?? 'failed'}` : `✓ ${e.exerciseId}`;
    case 'hint':
      return `hint ${e.text ?? ''} for ${e.exerciseId}`;
    case 'solution':
      return `solution of ${e.exerciseId}`;
    case 'reset':
      return 'lesson reset';
    case 'takeover':
      return e.status === 'on' ? 'instructor took over' : 'instructor gave back';
    case 'message':
      return `message: ${e.text ?? ''}`;
    default:
      return undefined;
  }
}
