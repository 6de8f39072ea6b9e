// Script syntax errors reported at their line in lesson.md, without running anything.
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { lintLesson, lintScript } from '../../server/labs/lint.js';
import { formatIssue } from '../../server/labs/model.js';
import { parseLesson } from '../../server/labs/parse.js';

it('finds a syntax error in a check and names its line in lesson.md', () => {
  const text = '---\ntitle: T\nsummary: S\norder: 1\ntime: 5 min\n---\n\n## Exercise: E {#e}\n\nDo.\n\n```bash check\nif [ -e /x ]; then\n  echo yes\nfail "no"\n```\n\n```bash solution\necho "unclosed\n```\n';
  const { lesson } = parseLesson({ id: 'l', dir: '/l', file: 'lesson.md', text, hasAsset: () => false });
  expect(lintLesson(lesson!).map((i) => formatIssue(i))).toEqual([
    'lesson.md:15: exercise "e": check: syntax error: unexpected end of file',
    'lesson.md:19: exercise "e": solution: unexpected EOF while looking for matching `"\'',
  ]);
});

it('passes a script that parses, without running it', () => {
  const marker = path.join(os.tmpdir(), `boxlab-lint-${process.pid}`);
  expect(lintScript({ text: `touch ${marker}; exit 3\n`, file: 'setup.sh', line: 1 }, 'setup.sh')).toEqual([]);
  expect(existsSync(marker)).toBe(false);
});
