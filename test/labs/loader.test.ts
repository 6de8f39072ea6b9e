// The lesson loader: what a good lesson becomes, and the file:line message of
// every way a lesson can be broken (broken lessons are skipped, never thrown).
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadLabs, loadLesson } from '../../server/labs/loader.js';
import { formatIssue, type LoadIssue } from '../../server/labs/model.js';
import { parseLesson } from '../../server/labs/parse.js';
import { availability, unmetRequirements, type HostFacts } from '../../server/labs/requirements.js';

const FIXTURES = path.resolve('test/fixtures/labs');
const messages = (issues: LoadIssue[]) => issues.map((i) => formatIssue(i, FIXTURES));

describe('the fixture labs folder', async () => {
  const catalog = await loadLabs(FIXTURES);

  it('loads the good lessons in order, and reports and skips the broken ones', () => {
    expect(catalog.lessons.map((l) => l.id)).toEqual(['01-basics', '80-wrong-checks', '81-broken-setup']);
    expect(catalog.skipped.sort()).toEqual(['90-broken-front-matter', '91-broken-exercises', '92-missing-asset', '93-no-lesson-file', 'Bad_Name']);
    expect(catalog.library?.text).toMatch(/^fail\(\)/m);
  });

  it('names the file and line of every error', () => {
    const errors = messages(catalog.issues.filter((i) => i.severity === 'error'));
    expect(errors).toEqual([
      '90-broken-front-matter/lesson.md:2: title: a title is required',
      '90-broken-front-matter/lesson.md:3: order: order must be a number (it sorts the catalogue)',
      '90-broken-front-matter/lesson.md:5: unknown key "colour"',
      '91-broken-exercises/lesson.md:8: a check block belongs inside an exercise ("## Exercise: <title> {#<id>}")',
      '91-broken-exercises/lesson.md:18: exercise "oom" has two check blocks (the first at line 14)',
      '91-broken-exercises/lesson.md:22: an exercise heading reads "## Exercise: <title> {#<id>}"',
      '91-broken-exercises/lesson.md:28: exercise id "Bad_Id" may hold only lowercase letters, digits and single dashes, 100 at most',
      '91-broken-exercises/lesson.md:34: exercise "nocheck" has no check block (```bash check)',
      '91-broken-exercises/lesson.md:44: unknown code block role "soluton" after "bash" (known: run, copy, check, hint, solution, meta)',
      '91-broken-exercises/lesson.md:53: meta: timeout: timeout may be at most 60 seconds',
      '91-broken-exercises/lesson.md:54: meta: unknown key "color"',
      '92-missing-asset/lesson.md:8: image "assets/missing.svg": no such file in the lesson\'s assets/ folder',
      '93-no-lesson-file/lesson.md: missing',
      'Bad_Name: "Bad_Name" is not a lesson id: name lesson folders with lowercase letters, digits and dashes (e.g. 07-seccomp)',
    ]);
  });

  it('turns a lesson into its model: text without scripts, scripts with their lines', () => {
    const lesson = catalog.lessons[0]!;
    expect(lesson).toMatchObject({ title: 'The basics', order: 1, time: '10 min', minutes: 10, requires: {} });
    expect(lesson.intro).toMatch(/^A first lesson.*\n\n!\[the sandbox\]\(assets\/diagram\.svg\)$/s);
    expect(lesson.sections.map((s) => `${s.kind}:${s.kind === 'exercise' ? s.id : s.title}`)).toEqual(['prose:Before you start', 'exercise:greet', 'exercise:copy', 'exercise:uts', 'exercise:list']);
    const [greet, copy, uts, list] = lesson.exercises;
    expect(greet!.title).toBe('Say `hello`');
    expect(greet!.task).toBe('Write the word hello into `/root/hello.txt`.\n\n```bash run\necho hello > /root/hello.txt\n```');
    expect(greet!.check).toEqual({ text: expect.stringMatching(/^\[ -e \/root\/hello.txt \]/), file: lesson.file, line: 29 });
    expect(greet!.solution).toEqual({ text: 'echo hello > /root/hello.txt\n', file: lesson.file, line: 34 });
    expect(greet!.hints).toEqual(['`echo` prints its arguments.', 'A `>` sends what a command prints\ninto a file.']);
    expect(greet!.hint).toBeUndefined();
    expect(copy!.hint?.text).toMatch(/LESSON_ASSETS/);
    expect(uts!.timeoutMs).toBe(5000);
    expect(list!.timeoutMs).toBe(10_000);
    for (const ex of lesson.exercises) expect(ex.task).not.toMatch(/```bash (check|solution|hint)|```yaml meta|### Hints|fail "/);
    expect(lesson.setup?.text).toMatch(/setup-done/);
    expect(lesson.assetsDir).toBe(path.join(FIXTURES, '01-basics', 'assets'));
  });
});

describe('lesson.md problems, each at its line', () => {
  const FRONT = '---\ntitle: T\nsummary: S\norder: 1\ntime: 5 min\n---\n';
  const EXERCISE = '## Exercise: E {#e}\n\nDo it.\n\n```bash check\ntrue\n```\n\n```bash solution\ntrue\n```\n';
  const parse = (text: string, assets: string[] = []) =>
    parseLesson({ id: 'l', dir: '/labs/l', file: '/labs/l/lesson.md', text, hasAsset: (a) => assets.includes(a) });
  const problems = (text: string, assets: string[] = []) => messages(parse(text, assets).issues).map((m) => m.replace('/labs/l/lesson.md', 'lesson.md'));

  it('accepts a minimal lesson', () => {
    const { lesson, issues } = parse(FRONT + EXERCISE);
    expect(issues).toEqual([]);
    expect(lesson?.exercises.map((e) => e.id)).toEqual(['e']);
  });

  it('needs front matter, closed, in YAML, with the known keys', () => {
    expect(problems('# Hello\n')).toEqual(['lesson.md:1: lesson.md must start with front matter: a line "---", then title, summary, order and time, then "---"']);
    expect(problems('---\ntitle: T\n')).toEqual(['lesson.md:1: the front matter is not closed: end it with a line "---"']);
    expect(problems('---\ntitle: T\nsummary: [oops\norder: 1\n---\n' + EXERCISE)[0]).toBe('lesson.md:4: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]');
    expect(problems(FRONT.replace('time: 5 min', 'time: soon') + EXERCISE)).toEqual(['lesson.md:5: time: "soon" is not a duration (write e.g. "30 min")']);
    expect(problems(FRONT.replace('order: 1', 'order: 1\nrequires:\n  cgroup: v3\n  features: [macvlan, warp-drive]') + EXERCISE)).toEqual([
      'lesson.md:6: requires.cgroup: cgroup must be v1 or v2',
      'lesson.md:7: requires.features.1: unknown feature "warp-drive" (known: macvlan, ipvlan, dummy, vxlan, veth, bridge, nat, overlay, overlay-opaque, user-namespaces, time-namespaces, seccomp, cgroup-cpu, docker)',
    ]);
    expect(problems(FRONT.replace('title: T\n', 'title: T\ntitle: U\n') + EXERCISE)[0]).toMatch(/^lesson\.md:3: YAML: Map keys must be unique/);
  });

  it('reads exercise headings strictly', () => {
    expect(problems(FRONT + EXERCISE + EXERCISE)).toEqual(['lesson.md:18: exercise id "e" is already used at line 7']);
    expect(problems(FRONT + '## Exercise 2: Counting {#two}\n\n```bash check\ntrue\n```\n')).toEqual(['lesson.md:7: an exercise heading reads "## Exercise: <title> {#<id>}"']);
    expect(problems(FRONT + '## Exercise: {#x}\n\nDo.\n\n```bash check\ntrue\n```\n```bash solution\ntrue\n```\n')).toEqual(['lesson.md:7: exercise "x" has no title']);
  });

  it('splits sections at underlined (setext) headings too', () => {
    const { lesson } = parse(FRONT + 'Intro.\n\nBackground\n----------\n\nProse.\n\n' + EXERCISE);
    expect(lesson?.intro).toBe('Intro.');
    expect(lesson?.sections[0]).toEqual({ kind: 'prose', title: 'Background', line: 9, markdown: 'Prose.' });
  });

  it('keeps scripts where they belong, and never lets a solution slip into the text', () => {
    const noSolution = 'lesson.md:7: warning: exercise "e" has no solution block; boxlab verify needs one';
    expect(problems(FRONT + EXERCISE.replace('```bash solution', '```bash solution run'))).toEqual([noSolution, 'lesson.md:15: a solution block takes no other role (found "solution run")']);
    expect(problems(FRONT + EXERCISE.replace('```bash solution', '```solution'))).toEqual([noSolution, 'lesson.md:15: "solution" reads as the block\'s language: write ```bash solution']);
    expect(problems(FRONT + EXERCISE.replace('Do it.', '- a step\n\n  ```bash hint\n  echo no\n  ```'))).toEqual(['lesson.md:11: a hint block must stand on its own in the exercise, not inside a list or quote']);
    expect(problems(FRONT + EXERCISE + '\n```bash solution\ntrue\n```\n')).toEqual(['lesson.md:19: exercise "e" has two solution blocks (the first at line 15)']);
    expect(problems(FRONT + EXERCISE.replace('```bash check\ntrue\n```', '```bash check\n```'))).toEqual(['lesson.md:11: exercise "e" has an empty check block']);
  });

  it('takes a list of static hints, and nothing else, under ### Hints', () => {
    const { lesson } = parse(FRONT + EXERCISE + '\n### Hints\n\n1. first\n2. second `code`\n\n### After\n\nMore text.\n');
    expect(lesson?.exercises[0]?.hints).toEqual(['first', 'second `code`']);
    expect(lesson?.exercises[0]?.task).toBe('Do it.\n\n### After\n\nMore text.');
    expect(problems(FRONT + EXERCISE + '\n### Hints\n\nJust prose.\n')).toEqual([
      'lesson.md:19: "### Hints" has no list of hints under it',
      'lesson.md:21: "### Hints" holds only a list, one hint per item: move other text above it',
    ]);
  });

  it('checks meta blocks', () => {
    expect(problems(FRONT + EXERCISE + '\n```yaml meta\ntimeout: -1\n```\n')).toEqual(['lesson.md:20: meta: timeout: timeout must be above 0']);
    expect(problems(FRONT + EXERCISE + '\n```json meta\n{}\n```\n')).toEqual(['lesson.md:19: a meta block is written ```yaml meta']);
    const { lesson } = parse(FRONT + EXERCISE + '\n```yaml meta\ntimeout: 2.5\nrequires: { features: [macvlan], cgroup: v2 }\n```\n');
    expect(lesson?.exercises[0]).toMatchObject({ timeoutMs: 2500, requires: { features: ['macvlan'], cgroup: 'v2' } });
  });

  it('allows images from assets/ only, and links that lead somewhere safe', () => {
    const text = (md: string) => FRONT + md + '\n\n' + EXERCISE;
    expect(problems(text('![d](assets/d.svg) [a](assets/sub/a.txt) [w](https://example.com) [l](../02-next/lesson.md#x) [t](#top)'), ['d.svg', 'sub/a.txt'])).toEqual([]);
    expect(problems(text('![d](https://example.com/d.png)'))).toEqual(['lesson.md:7: image "https://example.com/d.png" must be a file in the lesson\'s assets/ folder (e.g. assets/diagram.svg)']);
    expect(problems(text('![d](assets/../../../etc/passwd)'))).toEqual(['lesson.md:7: image "assets/../../../etc/passwd" must be a file in the lesson\'s assets/ folder (e.g. assets/diagram.svg)']);
    expect(problems(text('[x](javascript:alert(1))'))).toEqual(['lesson.md:7: link "javascript:alert(1)": only https://, http:// and mailto: links are allowed']);
    expect(problems(text('[x](/etc/passwd)'))).toEqual(['lesson.md:7: link "/etc/passwd" points outside the lesson: link to assets/<file>, ../<lesson>/lesson.md, #<anchor> or a full https:// address']);
    expect(problems(text('[x](assets/gone.txt)'))).toEqual(['lesson.md:7: link "assets/gone.txt": no such file in the lesson\'s assets/ folder']);
  });

  it('warns about what verify will miss, without refusing the lesson', () => {
    const { lesson, issues } = parse(FRONT + '## Exercise: E {#e}\n\n```bash check\ntrue\n```\n');
    expect(lesson).toBeDefined();
    expect(messages(issues).map((m) => m.replace('/labs/l/lesson.md', 'lesson.md'))).toEqual([
      'lesson.md:7: warning: exercise "e" has no solution block; boxlab verify needs one',
      'lesson.md:7: warning: exercise "e" has no task text',
    ]);
  });
});

describe('lesson folders that are odd on disk', () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'boxlab-labs-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const good = '---\ntitle: T\nsummary: S\norder: 1\ntime: 5 min\n---\n\n## Exercise: E {#e}\n\nDo.\n\n```bash check\ntrue\n```\n\n```bash solution\ntrue\n```\n';

  it('refuses symlinks in assets, lesson.md that is not a file, and text that is not UTF-8', async () => {
    mkdirSync(path.join(tmp, 'a-link/assets'), { recursive: true });
    writeFileSync(path.join(tmp, 'a-link/lesson.md'), good);
    symlinkSync('/etc/passwd', path.join(tmp, 'a-link/assets/passwd'));
    mkdirSync(path.join(tmp, 'b-dir/lesson.md'), { recursive: true });
    mkdirSync(path.join(tmp, 'c-latin1'));
    writeFileSync(path.join(tmp, 'c-latin1/lesson.md'), Buffer.concat([Buffer.from(good), Buffer.from([0xe9, 0xff])]));
    mkdirSync(path.join(tmp, 'd-good'));
    writeFileSync(path.join(tmp, 'd-good/lesson.md'), good);
    const catalog = await loadLabs(tmp);
    expect(catalog.lessons.map((l) => l.id)).toEqual(['d-good']);
    expect(messages(catalog.issues).map((m) => m.replace(tmp + '/', ''))).toEqual([
      '_lib/check.sh: warning: missing: checks run without the helper library',
      'a-link/assets/passwd: assets may hold only files and folders (no symlinks or devices)',
      'b-dir/lesson.md: must be a regular file (not a symlink or folder)',
      'c-latin1/lesson.md: is not valid UTF-8',
    ]);
  });

  it('reports a labs folder that is not there instead of throwing', async () => {
    const catalog = await loadLabs(path.join(tmp, 'nowhere'));
    expect(catalog.lessons).toEqual([]);
    expect(catalog.issues[0]?.message).toMatch(/cannot read the labs folder \(ENOENT\)/);
    expect((await loadLesson(path.join(tmp, 'nowhere', '01-x'))).issues[0]?.message).toBe('missing');
  });
});

describe('requirements against the host', () => {
  const v1: HostFacts = { cgroupVersion: 1, features: new Set(['veth', 'bridge', 'macvlan']) };

  it('says in words what the host lacks', () => {
    expect(unmetRequirements({}, v1)).toBeUndefined();
    expect(unmetRequirements({ cgroup: 'v1', features: ['veth'] }, v1)).toBeUndefined();
    expect(unmetRequirements({ cgroup: 'v2' }, v1)).toBe('needs cgroup v2, and this host runs cgroup v1');
    expect(unmetRequirements({ features: ['dummy', 'ipvlan', 'veth'] }, v1)).toBe("needs dummy network interfaces and ipvlan network interfaces, which this host's kernel lacks");
  });

  it('makes a lesson, or only some of its exercises, unavailable', async () => {
    const text = (front: string) =>
      `---\ntitle: T\nsummary: S\norder: 1\ntime: 5 min\n${front}---\n\n## Exercise: A {#a}\n\n\`\`\`bash check\ntrue\n\`\`\`\n\n## Exercise: B {#b}\n\n\`\`\`yaml meta\nrequires: { features: [ipvlan] }\n\`\`\`\n\n\`\`\`bash check\ntrue\n\`\`\`\n`;
    const parse = (t: string) => parseLesson({ id: 'l', dir: '/l', file: '/l/lesson.md', text: t, hasAsset: () => false }).lesson!;
    expect(availability(parse(text('')), v1)).toEqual({ exercises: { b: "needs ipvlan network interfaces, which this host's kernel lacks" } });
    expect(availability(parse(text('requires: { cgroup: v2 }\n')), v1)).toEqual({
      lesson: 'needs cgroup v2, and this host runs cgroup v1',
      exercises: { a: 'needs cgroup v2, and this host runs cgroup v1', b: 'needs cgroup v2, and this host runs cgroup v1' },
    });
  });
});
