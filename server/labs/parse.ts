// Parses one lesson.md (docs/lesson-format.md) into the lesson model, reporting
// every problem with its line. Pure: the caller reads the files and says which
// assets exist.
import path from 'node:path';
import MarkdownIt from 'markdown-it';
import type { Token } from 'markdown-it';
import { z } from 'zod';
import { EXERCISE_ID } from '../contracts/lessons.js';
import { DEFAULT_CHECK_TIMEOUT_MS, MAX_CHECK_TIMEOUT_MS, type Exercise, type Lesson, type LoadIssue, type ProseSection, type Script, type Section } from './model.js';
import { requirementsSchema } from './requirements.js';
import { parseYaml } from './yaml-source.js';

/** Words allowed after a code block's language: display roles, and the blocks taken out of the text. */
const DISPLAY_ROLES = ['run', 'copy'] as const;
const EXTRACTED_ROLES = ['check', 'hint', 'solution', 'meta'] as const;
type ExtractedRole = (typeof EXTRACTED_ROLES)[number];
const ROLES: readonly string[] = [...DISPLAY_ROLES, ...EXTRACTED_ROLES];

const frontMatterSchema = z.strictObject({
  title: z.string({ error: 'a title is required' }).trim().min(1, 'the title is empty'),
  summary: z.string({ error: 'a summary is required (one sentence)' }).trim().min(1, 'the summary is empty'),
  order: z.number({ error: 'order must be a number (it sorts the catalogue)' }).finite(),
  time: z.union([z.string(), z.number()], { error: 'time is required, e.g. "30 min"' }),
  requires: requirementsSchema.optional(),
});

const metaSchema = z.strictObject({
  timeout: z
    .number({ error: 'timeout is a number of seconds' })
    .positive('timeout must be above 0')
    .max(MAX_CHECK_TIMEOUT_MS / 1000, `timeout may be at most ${MAX_CHECK_TIMEOUT_MS / 1000} seconds`)
    .optional(),
  requires: requirementsSchema.optional(),
});

/** A code block's info string: "bash run" → language "bash", roles ["run"]. */
export function parseInfo(info: string): { lang: string; roles: string[] } {
  const [lang = '', ...roles] = info.trim().split(/\s+/).filter(Boolean);
  return { lang, roles };
}

/** Minutes in "30 min", "1 h", "90 minutes" or a bare number of minutes. */
export function parseMinutes(time: string | number): number | undefined {
  if (typeof time === 'number') return time > 0 ? time : undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(m|mins?|minutes?|h|hrs?|hours?)?$/i.exec(time.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return m[2] && /^h/i.test(m[2]) ? n * 60 : n;
}

export interface LessonSource {
  id: string;
  dir: string;
  /** Path of lesson.md, used in messages. */
  file: string;
  text: string;
  setup?: Script;
  assetsDir?: string;
  /** Whether `assets/<relative>` exists as a file. */
  hasAsset(relative: string): boolean;
}

const md = new MarkdownIt({ html: false });
// the loader must see every link to judge it; the renderer is the strict one
md.validateLink = () => true;

export function parseLesson(source: LessonSource): { lesson?: Lesson; issues: LoadIssue[] } {
  const result = parse(source);
  result.issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  return result;
}

function parse(source: LessonSource): { lesson?: Lesson; issues: LoadIssue[] } {
  const issues: LoadIssue[] = [];
  const error = (line: number | undefined, message: string) => issues.push({ severity: 'error', file: source.file, ...(line ? { line } : {}), message });
  const warn = (line: number | undefined, message: string) => issues.push({ severity: 'warning', file: source.file, ...(line ? { line } : {}), message });

  const lines = source.text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');

  // front matter: between a first line "---" and the next "---" (or "...")
  if (lines[0]?.trim() !== '---') {
    error(1, 'lesson.md must start with front matter: a line "---", then title, summary, order and time, then "---"');
    return { issues };
  }
  const close = lines.findIndex((l, i) => i > 0 && (l.trimEnd() === '---' || l.trimEnd() === '...'));
  if (close < 0) {
    error(1, 'the front matter is not closed: end it with a line "---"');
    return { issues };
  }
  const front = parseYaml(lines.slice(1, close).join('\n'), 2, frontMatterSchema);
  if (!front.ok) for (const p of front.problems) error(p.line, p.message);
  const minutes = front.ok ? parseMinutes(front.value.time) : undefined;
  if (front.ok && minutes === undefined) error(lineOfKey(lines, close, 'time'), `time: "${front.value.time}" is not a duration (write e.g. "30 min")`);

  // the body: line numbers of markdown-it's tokens are 0-based from here
  const bodyStart = close + 1;
  const body = lines.slice(bodyStart);
  const fileLine = (bodyLine: number) => bodyStart + bodyLine + 1;
  const tokens = md.parse(body.join('\n'), {});

  checkLinks(tokens, source, (line, message) => error(fileLine(line), message));

  // `## ` headings at the top level split the body into sections
  const h2 = tokens.flatMap((t, i) => (t.type === 'heading_open' && t.tag === 'h2' && t.level === 0 && t.map ? [{ index: i, line: t.map[0], textStart: t.map[1], text: tokens[i + 1]!.content.trim() }] : []));
  const introEnd = h2[0]?.line ?? body.length;
  for (const t of tokens.slice(0, h2[0]?.index ?? tokens.length)) {
    if (t.type === 'fence') checkProseFence(t, (l, m) => error(fileLine(l), m));
  }

  const sections: Section[] = [];
  const ids = new Map<string, number>();
  for (const [n, section] of h2.entries()) {
    const next = h2[n + 1];
    const end = next?.line ?? body.length;
    // the section's tokens after its heading (heading_open, inline, heading_close)
    const sectionTokens = tokens.slice(section.index + 3, next?.index ?? tokens.length);
    const headingLine = fileLine(section.line);
    if (!/^exercise\b/i.test(section.text)) {
      for (const t of sectionTokens) if (t.type === 'fence') checkProseFence(t, (l, m) => error(fileLine(l), m));
      const prose: ProseSection = { kind: 'prose', title: section.text, line: headingLine, markdown: tidy(body.slice(section.textStart, end)) };
      sections.push(prose);
      continue;
    }
    const m = /^Exercise:\s*(.*?)\s*\{#([^}]*)\}$/.exec(section.text);
    if (!m) {
      error(headingLine, 'an exercise heading reads "## Exercise: <title> {#<id>}"');
      continue;
    }
    const [, title = '', id = ''] = m;
    if (!EXERCISE_ID.test(id)) error(headingLine, `exercise id "${id}" may hold only lowercase letters, digits and single dashes, 100 at most`);
    else if (ids.has(id)) error(headingLine, `exercise id "${id}" is already used at line ${ids.get(id)}`);
    else ids.set(id, headingLine);
    if (!title) error(headingLine, `exercise "${id}" has no title`);
    const exercise = parseExercise({ id, title, headingLine, textStart: section.textStart, sectionEnd: end, tokens: sectionTokens, body, fileLine, file: source.file, error, warn });
    if (exercise) sections.push(exercise);
  }

  const exercises = sections.filter((s): s is Exercise => s.kind === 'exercise');
  if (exercises.length === 0 && !issues.some((i) => i.severity === 'error')) warn(undefined, 'the lesson has no exercises ("## Exercise: <title> {#<id>}")');
  if (!front.ok || minutes === undefined || issues.some((i) => i.severity === 'error')) return { issues };

  const lesson: Lesson = {
    id: source.id,
    dir: source.dir,
    file: source.file,
    title: front.value.title,
    summary: front.value.summary,
    order: front.value.order,
    time: typeof front.value.time === 'number' ? `${front.value.time} min` : front.value.time.trim(),
    minutes,
    requires: front.value.requires ?? {},
    intro: tidy(body.slice(0, introEnd)),
    sections,
    exercises,
    ...(source.setup ? { setup: source.setup } : {}),
    ...(source.assetsDir ? { assetsDir: source.assetsDir } : {}),
  };
  return { lesson, issues };
}

interface ExerciseInput {
  id: string;
  title: string;
  headingLine: number;
  /** First body line after the heading. */
  textStart: number;
  sectionEnd: number;
  tokens: Token[];
  body: string[];
  fileLine: (bodyLine: number) => number;
  file: string;
  error: (line: number | undefined, message: string) => void;
  warn: (line: number | undefined, message: string) => void;
}

function parseExercise(x: ExerciseInput): Exercise | undefined {
  const { id, tokens, fileLine, error } = x;
  const blocks: Partial<Record<ExtractedRole, Token>> = {};
  const removed: Array<[number, number]> = [];
  const hints: string[] = [];
  let hintsLine: number | undefined;

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'fence') {
      const { roles } = parseInfo(t.info);
      const role = checkFenceRoles(t, (l, m) => error(fileLine(l), m));
      if (!role) continue;
      if (t.level > 0) {
        error(fileLine(t.map![0]), `a ${role} block must stand on its own in the exercise, not inside a list or quote`);
        continue;
      }
      if (roles.length > 1) {
        error(fileLine(t.map![0]), `a ${role} block takes no other role (found "${roles.join(' ')}")`);
        continue;
      }
      const before = blocks[role];
      if (before) {
        error(fileLine(t.map![0]), `exercise "${id}" has two ${role} blocks (the first at line ${fileLine(before.map![0])})`);
        continue;
      }
      blocks[role] = t;
      removed.push([t.map![0], t.map![1]]);
    } else if (t.type === 'heading_open' && t.tag === 'h3' && t.level === 0 && /^hints$/i.test(tokens[i + 1]?.content.trim() ?? '')) {
      const start = t.map![0];
      if (hintsLine !== undefined) {
        error(fileLine(start), `exercise "${id}" has two "### Hints" sections (the first at line ${hintsLine})`);
        continue;
      }
      hintsLine = fileLine(start);
      const next = tokens.findIndex((u, j) => j > i && u.type === 'heading_open' && u.level === 0 && Number(u.tag.slice(1)) <= 3);
      const end = next >= 0 ? tokens[next]!.map![0] : x.sectionEnd;
      removed.push([start, end]);
      const inside = tokens.slice(i + 3, next >= 0 ? next : tokens.length).filter((u) => u.level === 0 && u.map);
      for (const u of inside) {
        if (u.type !== 'bullet_list_open' && u.type !== 'ordered_list_open') {
          error(fileLine(u.map![0]), '"### Hints" holds only a list, one hint per item: move other text above it');
        }
      }
      for (let j = i + 3; j < (next >= 0 ? next : tokens.length); j++) {
        const u = tokens[j]!;
        if (u.type === 'list_item_open' && u.level === 1 && u.map) hints.push(listItemText(x.body.slice(u.map[0], u.map[1])));
      }
      if (hints.length === 0) error(hintsLine, '"### Hints" has no list of hints under it');
      i = (next >= 0 ? next : tokens.length) - 1;
    }
  }

  const script = (role: ExtractedRole): Script | undefined => {
    const t = blocks[role];
    return t ? { text: t.content, file: x.file, line: fileLine(t.map![0]) + 1 } : undefined;
  };
  const check = script('check');
  if (!check) error(x.headingLine, `exercise "${id}" has no check block (\`\`\`bash check)`);
  else if (!check.text.trim()) error(check.line - 1, `exercise "${id}" has an empty check block`);
  const solution = script('solution');
  if (!solution) x.warn(x.headingLine, `exercise "${id}" has no solution block; boxlab verify needs one`);
  else if (!solution.text.trim()) error(solution.line - 1, `exercise "${id}" has an empty solution block`);
  const hint = script('hint');
  if (hint && !hint.text.trim()) error(hint.line - 1, `exercise "${id}" has an empty hint block`);

  let timeoutMs = DEFAULT_CHECK_TIMEOUT_MS;
  let requires = {};
  const metaToken = blocks.meta;
  if (metaToken) {
    const metaLine = fileLine(metaToken.map![0]);
    if (parseInfo(metaToken.info).lang !== 'yaml') error(metaLine, 'a meta block is written ```yaml meta');
    const meta = parseYaml(metaToken.content, metaLine + 1, z.union([z.null(), metaSchema]));
    if (!meta.ok) for (const p of meta.problems) error(p.line, `meta: ${p.message}`);
    else if (meta.value) {
      if (meta.value.timeout) timeoutMs = Math.round(meta.value.timeout * 1000);
      requires = meta.value.requires ?? {};
    }
  }
  if (!check) return undefined;

  const kept: string[] = [];
  for (let line = x.textStart; line < x.sectionEnd; line++) {
    if (!removed.some(([from, to]) => line >= from && line < to)) kept.push(x.body[line]!);
  }
  const task = tidy(kept);
  if (!task) x.warn(x.headingLine, `exercise "${id}" has no task text`);
  return {
    kind: 'exercise',
    id,
    title: x.title,
    line: x.headingLine,
    task,
    check,
    ...(hint ? { hint } : {}),
    ...(solution ? { solution } : {}),
    hints,
    timeoutMs,
    requires,
    answers: [],
  };
}

/** Reports unknown roles; returns the role of a block that is taken out of the text. */
function checkFenceRoles(t: Token, error: (bodyLine: number, message: string) => void): ExtractedRole | undefined {
  const { lang, roles } = parseInfo(t.info);
  const unknown = roles.filter((r) => !ROLES.includes(r));
  if (unknown.length) error(t.map![0], `unknown code block role "${unknown[0]}" after "${lang}" (known: ${ROLES.join(', ')})`);
  if (ROLES.includes(lang)) error(t.map![0], `"${lang}" reads as the block's language: write \`\`\`bash ${lang}`);
  return roles.find((r): r is ExtractedRole => (EXTRACTED_ROLES as readonly string[]).includes(r));
}

/** Outside exercises, scripts have nothing to belong to. */
function checkProseFence(t: Token, error: (bodyLine: number, message: string) => void): void {
  const role = checkFenceRoles(t, error);
  if (role) error(t.map![0], `a ${role} block belongs inside an exercise ("## Exercise: <title> {#<id>}")`);
}

/** Images must be assets of the lesson; links go to assets, other lessons, anchors or the web. */
function checkLinks(tokens: Token[], source: LessonSource, error: (bodyLine: number, message: string) => void): void {
  for (const block of tokens) {
    if (block.type !== 'inline' || !block.map) continue;
    for (const t of walkInline(block.children ?? [])) {
      if (t.type === 'image') {
        const src = String(t.attrGet('src') ?? '');
        const asset = assetPath(src);
        if (asset === undefined) error(block.map[0], `image "${src}" must be a file in the lesson's assets/ folder (e.g. assets/diagram.svg)`);
        else if (!source.hasAsset(asset)) error(block.map[0], `image "${src}": no such file in the lesson's assets/ folder`);
      } else if (t.type === 'link_open') {
        const href = String(t.attrGet('href') ?? '');
        const problem = linkProblem(href, source);
        if (problem) error(block.map[0], problem);
      }
    }
  }
}

function* walkInline(tokens: Token[]): Generator<Token> {
  for (const t of tokens) {
    yield t;
    if (t.children) yield* walkInline(t.children);
  }
}

/** "assets/a/b.svg" → "a/b.svg"; undefined for anything that is not inside assets/. */
export function assetPath(ref: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref) || ref.startsWith('/') || ref.startsWith('//')) return undefined;
  let decoded: string;
  try {
    decoded = decodeURIComponent(ref.split(/[?#]/)[0]!);
  } catch {
    return undefined;
  }
  const normal = path.posix.normalize(decoded.replace(/^\.\//, ''));
  if (!normal.startsWith('assets/') || normal.includes('\0')) return undefined;
  const rest = normal.slice('assets/'.length);
  return rest && !rest.split('/').includes('..') ? rest : undefined;
}

/** "../02-cgroups/lesson.md#oom" → { lesson: "02-cgroups", anchor: "oom" }. */
export function lessonLink(href: string): { lesson: string; anchor?: string } | undefined {
  const m = /^\.\.\/([a-z0-9][a-z0-9-]*)\/(?:lesson\.md)?(?:#([\w-]+))?$/.exec(href);
  return m ? { lesson: m[1]!, ...(m[2] ? { anchor: m[2] } : {}) } : undefined;
}

function linkProblem(href: string, source: LessonSource): string | undefined {
  if (/^(https?:|mailto:)/i.test(href) || /^#[\w-]*$/.test(href) || lessonLink(href)) return undefined;
  if (/^[a-z][a-z0-9+.-]*:/i.test(href)) return `link "${href}": only https://, http:// and mailto: links are allowed`;
  const asset = assetPath(href);
  if (asset !== undefined) return source.hasAsset(asset) ? undefined : `link "${href}": no such file in the lesson's assets/ folder`;
  return `link "${href}" points outside the lesson: link to assets/<file>, ../<lesson>/lesson.md, #<anchor> or a full https:// address`;
}

/** The markdown of one list item: its marker removed, its continuation lines outdented. */
function listItemText(itemLines: string[]): string {
  const first = itemLines[0] ?? '';
  const marker = /^(\s*(?:[-*+]|\d+[.)])\s+)/.exec(first)?.[1] ?? '';
  const indent = marker.length;
  const rest = itemLines.slice(1).map((l) => (l.slice(0, indent).trim() === '' ? l.slice(indent) : l.trimStart()));
  return tidy([first.slice(indent), ...rest]);
}

/** Joins lines, with runs of blank lines collapsed and the ends trimmed. */
function tidy(lines: string[]): string {
  return lines.join('\n').replace(/\n[ \t]*\n(?:[ \t]*\n)+/g, '\n\n').trim();
}

/** The line of a top-level key in the front matter (for messages about its value). */
function lineOfKey(lines: string[], close: number, key: string): number {
  const i = lines.findIndex((l, n) => n > 0 && n < close && l.startsWith(`${key}:`));
  return i >= 0 ? i + 1 : 1;
}
