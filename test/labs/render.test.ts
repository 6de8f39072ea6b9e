// Lesson HTML: what a browser receives must be safe, and must hold no check,
// hint script or solution.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadLabs } from '../../server/labs/loader.js';
import { renderInline, renderLesson, renderMarkdown, renderSolution } from '../../server/labs/render.js';

const options = { assetsUrl: '/lessons/01-basics/assets/', lessonUrl: (id: string, anchor?: string) => `/lessons/${id}${anchor ? `#${anchor}` : ''}` };

describe('renderMarkdown', () => {
  it('never renders HTML or script from the markdown', () => {
    const html = renderMarkdown(
      [
        '# Title <script>alert(1)</script>',
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">raw link</a>',
        '[md link](javascript:alert(1)) [upper](JAVASCRIPT:alert(1)) [encoded](javascript&#58;alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=) [vb](vbscript:x)',
        '![img](javascript:alert(1)) ![data](data:image/svg+xml,<svg onload=alert(1)>)',
        '```html\n<script>alert("in code")</script>\n```',
      ].join('\n\n'),
      options,
    );
    // no script element, no event handler attribute, no dangerous URL in any tag
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<[^>]*\son\w+=/i);
    expect(html).not.toMatch(/<[^>]*(href|src)="\s*(javascript|vbscript|data):/i);
    expect(html.match(/<(a|img)\b/g)).toBeNull();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<span class="hljs-tag">&lt;<span class="hljs-name">script</span>&gt;</span>alert("in code")');
  });

  it('points assets and other lessons where the web serves them, and opens web links apart', () => {
    const html = renderMarkdown('![bridge](assets/net/bridge%20diagram.svg) [data](assets/data.txt) [next](../02-cgroups/lesson.md#oom) [web](https://man7.org/) [up](#top) [away](../../etc/passwd) ![far](https://example.com/x.png)', options);
    expect(html).toContain('<img src="/lessons/01-basics/assets/net/bridge%20diagram.svg" alt="bridge" />');
    expect(html).toContain('<a href="/lessons/01-basics/assets/data.txt">data</a>');
    expect(html).toContain('<a href="/lessons/02-cgroups#oom">next</a>');
    expect(html).toContain('<a href="https://man7.org/" target="_blank" rel="noopener noreferrer">web</a>');
    expect(html).toContain('<a href="#top">up</a>');
    // a link that leads nowhere stays as its text; an image from elsewhere as its alt text
    expect(html).toMatch(/ away /);
    expect(html).toMatch(/ far<\/p>/);
    expect(html).not.toMatch(/passwd|example\.com/);
  });

  it('highlights code and marks run and copy blocks for the player', () => {
    const html = renderMarkdown('```bash run\necho "hi" > /tmp/x\n```\n\n```bash copy\nls\n```\n\n```text\nplain <b>\n```', options);
    expect(html).toContain('<pre class="code" data-lang="bash" data-run data-copy><code class="hljs language-bash"><span class="hljs-built_in">echo</span>');
    expect(html).toContain('<pre class="code" data-lang="bash" data-copy><code class="hljs language-bash"><span class="hljs-built_in">ls</span>');
    expect(html).toContain('<pre class="code" data-lang="text"><code class="hljs language-text">plain &lt;b&gt;');
  });

  it('drops check, hint, solution and meta blocks even from text the loader did not clean', () => {
    const html = renderMarkdown('Before.\n\n```bash solution\nSECRET-SOLUTION\n```\n\n```bash check\nSECRET-CHECK\n```\n\n```bash hint\nSECRET-HINT\n```\n\n```yaml meta\ntimeout: 1\n```\n\nAfter.', options);
    expect(html).not.toMatch(/SECRET|timeout/);
    expect(html).toMatch(/Before\..*After\./s);
  });

  it('renders titles inline', () => {
    expect(renderInline('Say `hello` <b>now</b>', options)).toBe('Say <code>hello</code> &lt;b&gt;now&lt;/b&gt;');
  });
});

describe('renderLesson', async () => {
  const catalog = await loadLabs(path.resolve('test/fixtures/labs'), { only: ['01-basics'] });
  const lesson = catalog.lessons[0]!;

  it('gives the browser the text, the static hints, and no script or solution', () => {
    const view = renderLesson(lesson, options);
    const json = JSON.stringify(view);
    for (const ex of lesson.exercises) {
      expect(json).not.toContain(JSON.stringify(ex.check.text).slice(1, -1));
      if (ex.solution) expect(json).not.toContain(JSON.stringify(ex.solution.text.trim()).slice(1, -1));
      if (ex.hint) expect(json).not.toContain(JSON.stringify(ex.hint.text.trim()).slice(1, -1));
    }
    expect(json).not.toMatch(/procs_exact|fail "|unshare --uts/);
    expect(view.introHtml).toContain('<img src="/lessons/01-basics/assets/diagram.svg" alt="the sandbox" />');
    expect(view.sections.map((s) => (s.kind === 'exercise' ? s.id : s.kind))).toEqual(['prose', 'greet', 'copy', 'uts', 'list']);
    const greet = view.sections[1]!;
    expect(greet).toMatchObject({ kind: 'exercise', titleHtml: 'Say <code>hello</code>', hasSolution: true, hasHintScript: false });
    expect(greet.kind === 'exercise' && greet.hints).toEqual(['<p><code>echo</code> prints its arguments.</p>\n', '<p>A <code>&gt;</code> sends what a command prints\ninto a file.</p>\n']);
    expect(greet.html).toContain('<pre class="code" data-lang="bash" data-run data-copy>');
    expect(view.sections[2]).toMatchObject({ hasHintScript: true });
  });

  it('renders a solution only when asked for', () => {
    expect(renderSolution(lesson.exercises[2]!)).toBe(`<pre class="code" data-lang="bash" data-copy><code class="hljs language-bash">unshare --uts sh -c <span class="hljs-string">'hostname demo; exec sleep infinity'</span> &amp;\n</code></pre>\n`);
  });
});
