// Parses a lesson's answers.md (docs/lesson-format.md): the alternates and
// near misses a reviewer tries on each exercise's check. Pure, like parse.ts;
// every problem is reported with its line.
import MarkdownIt from 'markdown-it';
import type { Answer, Exercise, LoadIssue } from './model.js';
import { parseInfo } from './parse.js';

export const ANSWERS_FILE = 'answers.md';

const md = new MarkdownIt({ html: false });
const HEADING = /^(alternate|near miss):\s*(\S.*)$/i;
const REASON = /^Reason:\s*`([^`]+)`\s*$/;

/** Adds the answers in `text` (the content of `file`) to the lesson's exercises; returns the problems. */
export function parseAnswers(text: string, file: string, exercises: Exercise[]): LoadIssue[] {
  const issues: LoadIssue[] = [];
  const error = (line: number, message: string) => issues.push({ severity: 'error', file, line: line + 1, message });
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const tokens = md.parse(lines.join('\n'), {});
  const seen = new Map<string, number>();
  let exercise: Exercise | undefined;
  let answer: (Answer & { line: number }) | undefined;
  const found: Array<[Exercise, Answer & { line: number }]> = [];

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const line = t.map?.[0] ?? 0;
    if (t.type === 'heading_open' && (t.tag === 'h2' || t.tag === 'h3')) {
      const title = tokens[i + 1]!.content.trim();
      if (t.tag === 'h2') {
        answer = undefined;
        exercise = exercises.find((e) => e.id === title);
        if (!exercise) error(line, `"## ${title}": no exercise of the lesson has this id (it has ${exercises.map((e) => e.id).join(', ')})`);
        else if (seen.has(title)) error(line, `the answers to "${title}" began already at line ${seen.get(title)! + 1}`);
        else seen.set(title, line);
        continue;
      }
      const m = HEADING.exec(title);
      answer = undefined;
      if (!m) error(line, 'an answer\'s heading reads "### Alternate: <what it does>" or "### Near miss: <what it misses>"');
      else if (!exercise) error(line, 'an answer belongs under "## <exercise id>"');
      else {
        answer = { kind: /^a/i.test(m[1]!) ? 'alternate' : 'near-miss', title: m[2]!.trim(), script: { text: '', file, line: 0 }, line };
        found.push([exercise, answer]);
      }
    } else if (t.type === 'fence' && t.level === 0) {
      const { lang, roles } = parseInfo(t.info);
      if (!answer) error(line, 'a code block belongs to an answer ("### Alternate: ..." or "### Near miss: ...")');
      else if (lang !== 'bash' || roles.length) error(line, `an answer's code block is written \`\`\`bash, with no other word (found "${t.info.trim()}")`);
      else if (answer.script.line) error(line, `"${answer.title}" has two code blocks (the first at line ${answer.script.line - 1}): one answer, one block`);
      else if (!t.content.trim()) error(line, `"${answer.title}" has an empty code block`);
      else answer.script = { text: t.content, file, line: line + 2 };
    } else if (t.type === 'paragraph_open' && t.map && answer) {
      const first = lines[t.map[0]]!.trim();
      if (!/^reason:/i.test(first)) continue;
      const m = REASON.exec(first);
      if (!m || t.map[1] - t.map[0] > 1) error(line, 'a reason reads "Reason: `<regular expression>`" on one line');
      else if (answer.kind === 'alternate') error(line, `"${answer.title}" is an alternate: it must pass, so it has no reason`);
      else if (answer.reason !== undefined) error(line, `"${answer.title}" has two reasons`);
      else {
        try {
          new RegExp(m[1]!);
          answer.reason = m[1]!;
        } catch (err) {
          error(line, `the reason is not a regular expression: ${(err as Error).message}`);
        }
      }
    }
  }
  for (const [ex, a] of found) {
    if (!a.script.line) error(a.line, `"${a.title}" has no \`\`\`bash block to type`);
    else if (a.kind === 'near-miss' && a.reason === undefined) error(a.line, `the near miss "${a.title}" has no "Reason: \`...\`": say what its check must answer`);
    else ex.answers.push({ kind: a.kind, title: a.title, script: a.script, ...(a.reason !== undefined ? { reason: a.reason } : {}) });
  }
  return issues;
}
