// One benchmark figure, as bench-results.json records it.
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** The target as text, e.g. "<= 100"; empty when the figure is for comparison only. */
  target: string;
}

export function meets(result: BenchResult): boolean | undefined {
  const m = /^(<=|>=)\s*([\d.]+)$/.exec(result.target);
  if (!m) return undefined;
  return m[1] === '<=' ? result.value <= Number(m[2]) : result.value >= Number(m[2]);
}
