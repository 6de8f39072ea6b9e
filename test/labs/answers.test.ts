// answers.md: the alternates and near misses of a lesson's checks, parsed onto
// its exercises, every problem at its line; and the curriculum has at least
// three of each for every exercise.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAnswers } from '../../server/labs/answers.js';
import { lintLesson } from '../../server/labs/lint.js';
import { loadLabs } from '../../server/labs/loader.js';
import type { Exercise } from '../../server/labs/model.js';

const exercise = (id: string) => ({ id, answers: [] }) as unknown as Exercise;
const fence = '```';

describe('parseAnswers', () => {
  it('puts each answer on its exercise, with the line of its script', () => {
    const exercises = [exercise('uts'), exercise('pid')];
    const text = `# Answers\n\nFree prose.\n\n## pid\n\n### Alternate: busybox\n\nA note.\n\n${fence}bash\nbusybox unshare -p -f sleep infinity &\n${fence}\n\n### Near miss: no --fork\n\n${fence}bash\nunshare --pid sleep infinity &\n${fence}\n\nReason: \`add --fork\`\n`;
    expect(parseAnswers(text, 'answers.md', exercises)).toEqual([]);
    expect(exercises[0]!.answers).toEqual([]);
    expect(exercises[1]!.answers).toEqual([
      { kind: 'alternate', title: 'busybox', script: { text: 'busybox unshare -p -f sleep infinity &\n', file: 'answers.md', line: 12 } },
      { kind: 'near-miss', title: 'no --fork', script: { text: 'unshare --pid sleep infinity &\n', file: 'answers.md', line: 18 }, reason: 'add --fork' },
    ]);
  });

  it('reports every problem at its line', () => {
    const text = [
      '## nope', //                                          1
      '### Alternate: under no exercise', //                 2
      '## uts', //                                           3
      '### Maybe: what', //                                  4
      '### Near miss: no reason', //                         5
      `${fence}bash`, 'true', fence, //                      6-8
      '### Near miss: bad reason', //                        9
      `${fence}bash`, 'true', fence, //                      10-12
      'Reason: `(unclosed`', //                              13
      '### Alternate: with a reason', //                     14
      `${fence}sh`, 'true', fence, //                        15-17
      'Reason: `x`', //                                      18
      '### Near miss: two blocks', //                        19
      `${fence}bash`, 'a', fence, `${fence}bash`, 'b', fence, // 20-25
      'Reason: `x`', //                                      26
      '## uts', //                                           27
    ].join('\n');
    const issues = parseAnswers(text, 'answers.md', [exercise('uts')]).map((i) => `${i.line}: ${i.message}`);
    expect(issues).toEqual([
      '1: "## nope": no exercise of the lesson has this id (it has uts)',
      '2: an answer belongs under "## <exercise id>"',
      '4: an answer\'s heading reads "### Alternate: <what it does>" or "### Near miss: <what it misses>"',
      '13: the reason is not a regular expression: Invalid regular expression: /(unclosed/: Unterminated group',
      '15: an answer\'s code block is written ```bash, with no other word (found "sh")',
      '18: "with a reason" is an alternate: it must pass, so it has no reason',
      '23: "two blocks" has two code blocks (the first at line 20): one answer, one block',
      '27: the answers to "uts" began already at line 3',
      '5: the near miss "no reason" has no "Reason: `...`": say what its check must answer',
      '9: the near miss "bad reason" has no "Reason: `...`": say what its check must answer',
      '14: "with a reason" has no ```bash block to type',
    ]);
  });
});

describe('the curriculum', async () => {
  const catalog = await loadLabs(path.resolve('labs'));

  it('loads every lesson with its answers, without an issue, every answer parsing as bash', () => {
    expect(catalog.issues).toEqual([]);
    expect(catalog.lessons.length).toBeGreaterThanOrEqual(6);
    expect(catalog.lessons.flatMap((l) => lintLesson(l))).toEqual([]);
  });

  it('has at least three alternates and three near misses for every exercise, each near miss with its reason', () => {
    const short: string[] = [];
    for (const lesson of catalog.lessons) {
      for (const ex of lesson.exercises) {
        const alternates = ex.answers.filter((a) => a.kind === 'alternate').length;
        const nearMisses = ex.answers.filter((a) => a.kind === 'near-miss' && a.reason).length;
        if (alternates < 3 || nearMisses < 3) short.push(`${lesson.id}/${ex.id}: ${alternates} alternates, ${nearMisses} near misses`);
      }
    }
    expect(short).toEqual([]);
  });

  it('tries the mistakes an engine invites: a volume for a bind mount, a container that exited, Dockerfile instructions out of order', () => {
    // what `boxlab verify --answers` then types, and whose reason must say so
    const reasons = (lessonId: string) =>
      catalog.lessons.find((l) => l.id === lessonId)!.exercises.flatMap((ex) => ex.answers.filter((a) => a.kind === 'near-miss').map((a) => `${ex.id}: ${a.title} -> ${a.reason}`));
    const seven = reasons('07-docker-under-the-hood');
    expect(seven).toContainEqual(expect.stringMatching(/^mounts: a volume where a bind mount was asked -> .*is the volume .*not a bind mount/));
    expect(seven).toContainEqual(expect.stringMatching(/exited -> No container named \w+ is running/));
    const eight = reasons('08-images-and-builds');
    expect(eight).toContainEqual(expect.stringMatching(/^cache: .*wrong order of instructions.* -> .*copied before the dependency step runs/));
    expect(eight).toContainEqual(expect.stringMatching(/^runc: a container that exited/));
  });

  it('keeps the answers out of the text a learner reads', () => {
    for (const lesson of catalog.lessons) {
      const md = readFileSync(lesson.file, 'utf8');
      expect(md).not.toMatch(/^### (Alternate|Near miss):/m);
    }
  });
});
