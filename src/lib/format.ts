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

/**
 * Bidirectional control characters (embeddings, overrides, isolates, marks): invisible, yet U+202E makes
 * "Wafer-108" display as another name. Shown as their code point instead ("Wafer-[U+202E]801"), so a name
 * always looks like what it is; the data keeps them.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function showBidiControls(text: string): string {
  return text.replace(BIDI_CONTROLS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}]`);
}
