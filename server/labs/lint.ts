// Syntax checks of a lesson's scripts with `bash -n`, which parses a script
// without running any of it, so `boxlab validate` catches a missing `fi` before
// a learner does. Errors point at the line in the file the script came from.
import { spawnSync } from 'node:child_process';
import type { Lesson, LoadIssue, Script } from './model.js';

export function lintScript(script: Script, what: string): LoadIssue[] {
  const r = spawnSync('bash', ['-n', '-c', script.text], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return [{ severity: 'warning', file: script.file, line: script.line, message: `cannot check the ${what}'s syntax: ${r.error.message}` }];
  const issues: LoadIssue[] = [];
  const seen = new Set<number>();
  // "unexpected end of file" names the line after the last: point at the last
  const lastLine = script.line + script.text.replace(/\n$/, '').split('\n').length - 1;
  for (const text of r.stderr.split('\n')) {
    // bash: -c: line 3: syntax error near unexpected token `fi'
    const m = /^bash: -c: line (\d+): (.*)$/.exec(text);
    if (!m || !/syntax error|unexpected/.test(m[2]!)) continue;
    const line = Math.min(script.line + Number(m[1]) - 1, lastLine);
    if (seen.has(line)) continue;
    seen.add(line);
    issues.push({ severity: 'error', file: script.file, line, message: `${what}: ${m[2]}` });
  }
  if (r.status !== 0 && issues.length === 0) {
    issues.push({ severity: 'error', file: script.file, line: script.line, message: `${what}: bash cannot parse it: ${r.stderr.trim().split('\n')[0] ?? ''}` });
  }
  return issues;
}

/** Every script of a lesson: setup, and each exercise's check, hint, solution and answers. */
export function lintLesson(lesson: Lesson): LoadIssue[] {
  const issues: LoadIssue[] = [];
  if (lesson.setup) issues.push(...lintScript(lesson.setup, 'setup.sh'));
  for (const ex of lesson.exercises) {
    issues.push(...lintScript(ex.check, `exercise "${ex.id}": check`));
    if (ex.hint) issues.push(...lintScript(ex.hint, `exercise "${ex.id}": hint`));
    if (ex.solution) issues.push(...lintScript(ex.solution, `exercise "${ex.id}": solution`));
    for (const a of ex.answers) issues.push(...lintScript(a.script, `exercise "${ex.id}": ${a.kind} "${a.title}"`));
  }
  return issues;
}
