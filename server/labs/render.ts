// Lesson markdown to HTML a browser can be trusted with: raw HTML is never
// rendered, links and images are checked and rewritten, and sanitize-html
// cleans the result again. Check, hint and solution blocks never reach the page.
import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import c from 'highlight.js/lib/languages/c';
import diff from 'highlight.js/lib/languages/diff';
import dockerfile from 'highlight.js/lib/languages/dockerfile';
import ini from 'highlight.js/lib/languages/ini';
import json from 'highlight.js/lib/languages/json';
import makefile from 'highlight.js/lib/languages/makefile';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import shell from 'highlight.js/lib/languages/shell';
import xml from 'highlight.js/lib/languages/xml';
import yaml from 'highlight.js/lib/languages/yaml';
import MarkdownIt, { type Token } from 'markdown-it';
import sanitizeHtml from 'sanitize-html';
import type { Exercise, Lesson } from './model.js';
import { assetPath, lessonLink, parseInfo } from './parse.js';

for (const [name, language] of Object.entries({ bash, c, diff, dockerfile, ini, json, makefile, plaintext, python, shell, xml, yaml })) {
  hljs.registerLanguage(name, language);
}
hljs.registerAliases(['sh', 'console-bash'], { languageName: 'bash' });
hljs.registerAliases(['console'], { languageName: 'shell' });

export interface RenderOptions {
  /** Where the lesson's assets are served: "assets/x.svg" becomes `${assetsUrl}x.svg`. */
  assetsUrl: string;
  /** The address of another lesson, for links written ../<id>/lesson.md; without it such links become text. */
  lessonUrl?: (id: string, anchor?: string) => string;
}

const HIDDEN_ROLES = new Set(['check', 'hint', 'solution', 'meta']);
const SAFE_SCHEME = /^(https?:|mailto:)/i;

const md = new MarkdownIt({ html: false, linkify: false, typographer: false });
// relative references (assets, other lessons, anchors) and web links; never javascript:, data:, file:...
md.validateLink = (url) => !/^[a-z][a-z0-9+.-]*:/i.test(url) || SAFE_SCHEME.test(url);
// the render options travel in markdown-it's env
md.core.ruler.push('boxlab_links', (state) => {
  const options = state.env as unknown as RenderOptions;
  for (const block of state.tokens) if (block.type === 'inline' && block.children) block.children = rewriteLinks(block.children, options);
});
md.renderer.rules.fence = (tokens, idx) => renderCode(tokens[idx]!.info, tokens[idx]!.content);

/** Points asset and lesson links where the web serves them; drops links that go nowhere. */
function rewriteLinks(tokens: Token[], options: RenderOptions): Token[] {
  const out: Token[] = [];
  const dropped: boolean[] = []; // per open link: was its link_open dropped?
  for (const t of tokens) {
    if (t.type === 'image') {
      const asset = assetPath(String(t.attrGet('src') ?? ''));
      if (asset === undefined) {
        // not an asset: keep the alt text only
        for (const child of t.children ?? []) out.push(child);
        continue;
      }
      t.attrSet('src', options.assetsUrl + asset.split('/').map(encodeURIComponent).join('/'));
      out.push(t);
    } else if (t.type === 'link_open') {
      const href = String(t.attrGet('href') ?? '');
      const target = linkTarget(href, options);
      dropped.push(target === undefined);
      if (target === undefined) continue;
      t.attrSet('href', target);
      if (SAFE_SCHEME.test(target) && !/^mailto:/i.test(target)) {
        t.attrSet('target', '_blank');
        t.attrSet('rel', 'noopener noreferrer');
      }
      out.push(t);
    } else if (t.type === 'link_close') {
      if (!dropped.pop()) out.push(t);
    } else {
      if (t.children) t.children = rewriteLinks(t.children, options);
      out.push(t);
    }
  }
  return out;
}

function linkTarget(href: string, options: RenderOptions): string | undefined {
  if (!href) return undefined;
  if (SAFE_SCHEME.test(href)) return href;
  if (/^#[\w-]+$/.test(href)) return href;
  const asset = assetPath(href);
  if (asset !== undefined) return options.assetsUrl + asset.split('/').map(encodeURIComponent).join('/');
  const lesson = lessonLink(href);
  if (lesson && options.lessonUrl) return options.lessonUrl(lesson.lesson, lesson.anchor);
  return undefined;
}

/** A code block: highlighted, marked for the player's run and copy buttons. */
function renderCode(info: string, content: string): string {
  const { lang, roles } = parseInfo(info);
  if (roles.some((r) => HIDDEN_ROLES.has(r))) return '';
  const known = lang && hljs.getLanguage(lang) ? lang : '';
  const code = known ? hljs.highlight(content, { language: known, ignoreIllegals: true }).value : escapeHtml(content);
  const attrs = [
    lang ? ` data-lang="${escapeHtml(lang)}"` : '',
    roles.includes('run') ? ' data-run=""' : '',
    roles.includes('copy') || roles.includes('run') ? ' data-copy=""' : '',
  ].join('');
  return `<pre class="code"${attrs}><code class="hljs${known ? ` language-${known}` : ''}">${code}</code></pre>\n`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

const align = [/^(left|right|center)$/];
const SANITIZE: sanitizeHtml.IOptions = {
  allowedTags: ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'p', 'br', 'hr', 'a', 'img', 'ul', 'ol', 'li', 'blockquote', 'pre', 'code', 'span', 'em', 'strong', 's', 'table', 'thead', 'tbody', 'tr', 'th', 'td'],
  allowedAttributes: {
    a: ['href', 'title', 'target', 'rel'],
    img: ['src', 'alt', 'title'],
    pre: ['class', 'data-lang', 'data-run', 'data-copy'],
    code: ['class'],
    span: ['class'],
    ol: ['start'],
    th: ['style'],
    td: ['style'],
  },
  allowedStyles: { th: { 'text-align': align }, td: { 'text-align': align } },
  allowedClasses: { pre: ['code'], code: ['hljs', /^language-[\w-]+$/], span: [/^hljs-[\w-]+$/, /^language_$/, /^function_$/, /^class_$/] },
  allowedSchemes: ['http', 'https', 'mailto'],
  allowedSchemesByTag: { img: ['https'] },
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
};

/** Renders lesson markdown to sanitised HTML. */
export function renderMarkdown(markdown: string, options: RenderOptions): string {
  return sanitizeHtml(md.render(markdown, { ...options }), SANITIZE);
}

/** Renders one line of inline markdown (a title) to sanitised HTML. */
export function renderInline(markdown: string, options: RenderOptions): string {
  return sanitizeHtml(md.renderInline(markdown, { ...options }), SANITIZE);
}

export interface ExerciseView {
  kind: 'exercise';
  id: string;
  titleHtml: string;
  html: string;
  /** Static hints, revealed one at a time. */
  hints: string[];
  /** The exercise has a hint script ("what is wrong right now"). */
  hasHintScript: boolean;
  /** A solution can be revealed on request (see renderSolution). */
  hasSolution: boolean;
}

export interface ProseView {
  kind: 'prose';
  titleHtml: string;
  html: string;
}

/** A lesson as the browser sees it: text only, no check, hint script or solution. */
export interface LessonView {
  id: string;
  /** Plain text. */
  title: string;
  summary: string;
  time: string;
  order: number;
  introHtml: string;
  sections: Array<ProseView | ExerciseView>;
}

export function renderLesson(lesson: Lesson, options: RenderOptions): LessonView {
  return {
    id: lesson.id,
    title: lesson.title,
    summary: lesson.summary,
    time: lesson.time,
    order: lesson.order,
    introHtml: renderMarkdown(lesson.intro, options),
    sections: lesson.sections.map((s) =>
      s.kind === 'prose'
        ? { kind: 'prose', titleHtml: renderInline(s.title, options), html: renderMarkdown(s.markdown, options) }
        : {
            kind: 'exercise',
            id: s.id,
            titleHtml: renderInline(s.title, options),
            html: renderMarkdown(s.task, options),
            hints: s.hints.map((h) => renderMarkdown(h, options)),
            hasHintScript: s.hint !== undefined,
            hasSolution: s.solution !== undefined,
          },
    ),
  };
}

/** The reference solution as a highlighted, copyable block, for a learner who asked to see it. */
export function renderSolution(exercise: Exercise): string | undefined {
  if (!exercise.solution) return undefined;
  return sanitizeHtml(renderCode('bash copy', exercise.solution.text), SANITIZE);
}
