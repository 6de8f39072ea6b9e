// Every script of the curriculum parses as bash: a check with a syntax error
// runs its first lines and then fails with bash's complaint as the reason, or
// passes if an early line exits 0 (an unmatched quote in a fail message did).
// boxlab verify runs each check, but only along the paths its solution takes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const LABS = path.join(import.meta.dirname, '../../labs');
const LIB = readFileSync(path.join(LABS, '_lib/check.sh'), 'utf8');

interface Script { name: string; kind: string; text: string }

/** The check, hint and solution blocks of each exercise, and the setup script. */
function scripts(lesson: string): Script[] {
  const md = readFileSync(path.join(LABS, lesson, 'lesson.md'), 'utf8');
  const found: Script[] = [];
  for (const section of md.split(/^## Exercise: /m).slice(1)) {
    const id = /\{#([a-z0-9-]+)\}/.exec(section)?.[1] ?? '?';
    const body = section.split(/^## /m)[0]!;
    for (const m of body.matchAll(/^(`{3,}|~{3,})bash (check|hint|solution)\n([\s\S]*?)^\1\s*$/gm)) {
      found.push({ name: `${lesson}#${id} ${m[2]}`, kind: m[2]!, text: m[3]! });
    }
  }
  const setup = path.join(LABS, lesson, 'setup.sh');
  if (existsSync(setup)) found.push({ name: `${lesson}/setup.sh`, kind: 'setup', text: readFileSync(setup, 'utf8') });
  return found;
}

const lessons = readdirSync(LABS).filter((d) => /^\d\d-/.test(d)).sort();

describe('curriculum scripts', () => {
  it('has every lesson with 3 to 7 checked exercises, each with a solution', () => {
    expect(lessons.length).toBeGreaterThanOrEqual(8);
    for (const lesson of lessons) {
      const all = scripts(lesson);
      const checks = all.filter((s) => s.kind === 'check').length;
      expect(checks, lesson).toBeGreaterThanOrEqual(3);
      expect(checks, lesson).toBeLessThanOrEqual(7);
      expect(all.filter((s) => s.kind === 'solution').length, lesson).toBe(checks);
    }
  });

  it.each(lessons)('%s parses as bash', (lesson) => {
    const errors: string[] = [];
    for (const s of scripts(lesson)) {
      const text = s.kind === 'check' || s.kind === 'hint' ? `${LIB}\n${s.text}` : s.text;
      try {
        execFileSync('bash', ['-n'], { input: text, stdio: ['pipe', 'pipe', 'pipe'] });
      } catch (err) {
        errors.push(`${s.name}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`);
      }
    }
    expect(errors).toEqual([]);
  });
});
