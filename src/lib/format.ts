/** Number formatting shared by the components (en-US grouping, fixed decimals where precision matters). */
export { formatBytes, formatCount, pluralize } from '../../workers/format';
import { formatCount, LOW_COVERAGE_SHARE } from '../../workers/format';

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


/** Column names in quotes: “a”, “a” and “b”, or “a” … “z” for longer runs. */
export function quotedNames(names: string[]): string {
  const q = (name: string | undefined) => `“${name ?? ''}”`;
  if (names.length <= 2) return names.map(q).join(' and ');
  return `${q(names[0])} … ${q(names.at(-1))}`;
}

/** The low-coverage rule in words (the rule itself is isLowCoverage in workers/format.ts). */
export function coverageRuleText(modelSensors: number): string {
  const half = Math.ceil(LOW_COVERAGE_SHARE * modelSensors);
  return (
    `Coverage is the number of the ${formatCount(modelSensors)} sensors the model uses that have a reading. ` +
    `A wafer with fewer than ${Math.round(100 * LOW_COVERAGE_SHARE)} % of them (under ${formatCount(half)}) has low coverage: ` +
    'its probability would rest mostly on guesses for the missing readings, so it is not scored or counted as flagged or OK unless you choose to score it.'
  );
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
