// YAML (front matter, meta blocks) validated with a zod schema, with every
// problem reported at its line in the file the YAML came from.
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';

export interface YamlProblem {
  /** 1-based line in the file. */
  line: number;
  message: string;
}

export type YamlResult<T> = { ok: true; value: T } | { ok: false; problems: YamlProblem[] };

/**
 * Parses `text`, which starts at 1-based line `firstLine` of its file, and
 * validates it against `schema`.
 */
export function parseYaml<S extends z.ZodType>(text: string, firstLine: number, schema: S): YamlResult<z.output<S>> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined) => firstLine + (offset === undefined ? 0 : lineCounter.linePos(offset).line - 1);
  if (doc.errors.length) {
    return { ok: false, problems: doc.errors.map((e) => ({ line: at(e.pos[0]), message: `YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}` })) };
  }
  const parsed = schema.safeParse(doc.toJS() ?? {});
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    problems: parsed.error.issues.map((issue) => {
      const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
      const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
      const offset = keys.length ? keyOffset(doc, path, keys[0]!) : valueOffset(doc, path);
      const where = path.length ? `${path.join('.')}: ` : '';
      const message = issue.code === 'unrecognized_keys' ? `unknown key${keys.length > 1 ? 's' : ''} ${keys.map((k) => `"${k}"`).join(', ')}` : issue.message;
      return { line: at(offset), message: `${where}${message}` };
    }),
  };
}

/** Where the value at `path` starts, or its nearest existing ancestor. */
function valueOffset(doc: Document, path: Array<string | number>): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return range[0];
  }
  return undefined;
}

function keyOffset(doc: Document, path: Array<string | number>, key: string): number | undefined {
  const map = path.length ? doc.getIn(path, true) : doc.contents;
  if (isMap(map)) {
    for (const pair of map.items) {
      if (isScalar(pair.key) && String(pair.key.value) === key) return pair.key.range?.[0];
    }
  }
  return valueOffset(doc, path);
}
