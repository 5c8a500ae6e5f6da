/** Number formatting shared by the components (en-US grouping, fixed decimals where precision matters). */
export { formatBytes, formatCount } from '../../workers/format';
import { formatCount } from '../../workers/format';

export function formatPercent(part: number, whole: number, digits = 1): string {
  if (whole === 0) return '—';
  return `${((100 * part) / whole).toFixed(digits)} %`;
}

export function formatProbability(p: number | null): string {
  return p === null ? '—' : p.toFixed(3);
}

export function formatMetric(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}
