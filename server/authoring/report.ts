// `boxlab verify`'s report for people: one line per exercise as it finishes,
// the problems and the end of the terminal under a failure, a summary at the end.
import type { AnswerReport, ExerciseReport, LessonReport } from './verify.js';

const MARK: Record<ExerciseReport['status'], string> = { passed: 'ok', failed: 'FAIL', skipped: 'skip', prepared: 'prep' };

export function formatExercise(r: ExerciseReport): string {
  const head = `  ${MARK[r.status].padEnd(4)}  ${r.id}`;
  if (r.status === 'skipped') return `${head}: ${r.skipped}`;
  const steps: string[] = [];
  if (r.before) steps.push(`${r.before.passed ? 'PASSES' : 'fails'} before (${r.before.ms} ms${r.before.reason ? `: ${quote(r.before.reason)}` : ''})`);
  if (r.typed) steps.push(`typed ${r.typed.lines} line${r.typed.lines === 1 ? '' : 's'}${r.typed.source === 'reference' ? '' : ` from ${r.typed.source}`} (${r.typed.ms} ms)`);
  if (r.after) steps.push(`${r.after.passed ? 'passes' : 'fails'} after (${r.after.ms} ms${r.after.attempts > 1 ? `, try ${r.after.attempts}` : ''})`);
  const lines = [`${head}  ${steps.join(' · ')}  [${formatMs(r.ms)}]`];
  for (const p of r.problems) lines.push(`        - ${p}`);
  if (r.transcript) {
    lines.push('        terminal:');
    for (const l of r.transcript.split('\n')) lines.push(`        | ${l}`);
  }
  return lines.join('\n');
}

/** "  ok    uts  near miss "renames the sandbox": fails: "You renamed…"  [2.1 s]" */
export function formatAnswer(r: AnswerReport): string {
  const mark = r.status === 'passed' ? 'ok' : r.status === 'skipped' ? 'skip' : 'FAIL';
  const head = `  ${mark.padEnd(4)}  ${r.exercise}  ${r.kind === 'alternate' ? 'alternate' : 'near miss'} "${r.title}"`;
  if (r.status === 'skipped') return `${head}: ${r.skipped}`;
  const after = r.after ? `${r.after.passed ? 'passes' : 'fails'}${r.after.attempts > 1 ? `, try ${r.after.attempts}` : ''}${!r.after.passed && r.kind === 'near-miss' ? `: ${quote(r.after.reason)}` : ''}` : 'not checked';
  const lines = [`${head}  ${after}  [${formatMs(r.ms)}]`];
  for (const p of r.problems) lines.push(`        - ${p}`);
  if (r.transcript) for (const l of ['terminal:', ...r.transcript.split('\n').map((t) => `| ${t}`)]) lines.push(`        ${l}`);
  return lines.join('\n');
}

export function formatLessonSummary(r: LessonReport): string {
  if (r.error) return `${r.id}: ERROR ${r.error.split('\n').join('\n    ')}`;
  const count = (s: ExerciseReport['status']) => r.exercises.filter((e) => e.status === s).length;
  const parts = [`${count('passed')} verified`, `${count('failed')} failed`];
  if (count('skipped')) parts.push(`${count('skipped')} skipped`);
  if (r.answers) {
    const bad = r.answers.filter((a) => a.status === 'failed').length;
    parts.push(`answers: ${r.answers.filter((a) => a.status === 'passed').length} judged right, ${bad} wrong`);
  }
  return `${r.id}: ${r.ok ? 'ok' : 'FAILED'}, ${parts.join(', ')} (setup ${r.setupMs ?? 0} ms, ${formatMs(r.ms)} in all)`;
}

function quote(text: string): string {
  return `"${text.length > 70 ? `${text.slice(0, 69)}…` : text}"`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
