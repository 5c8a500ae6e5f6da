/**
 * The few rules both sides must state identically, pure and free of DOM or worker APIs: the UI imports them for
 * display, the engine for its messages, counts and the download.
 */

/** A wafer is flagged when its fault probability is at least the threshold; an unscored one (NaN/null) never is. */
export function isFlagged(probability: number | null, threshold: number): boolean {
  return probability !== null && probability >= threshold;
}

/**
 * A wafer has low coverage when it has readings for fewer than half of the sensors the model's trees use: its
 * probability then rests mostly on the trees' default branches for missing readings, so it is not counted as
 * flagged or OK (unless the user chooses to score such wafers anyway).
 */
export const LOW_COVERAGE_SHARE = 0.5;

export function isLowCoverage(readings: number, modelSensors: number): boolean {
  return readings < LOW_COVERAGE_SHARE * modelSensors;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n < 1024 ** 4) return `${(n / 1024 ** 3).toFixed(2)} GB`;
  return `${(n / 1024 ** 4).toFixed(2)} TB`;
}

const integer = new Intl.NumberFormat('en-US');

/** Counts with thousands separators ("13,107,201 columns"), in the UI and in the engine's messages alike. */
export function formatCount(n: number): string {
  return integer.format(n);
}

/** "1 wafer", "1,200 wafers": a count and its noun. */
export function pluralize(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** A contribution in log-odds as the UI and the download's top_sensors column write it: "+0.84", "−0.20" (U+2212). */
export function signedLogOdds(c: number): string {
  return `${c < 0 ? '\u2212' : '+'}${Math.abs(c).toFixed(2)}`;
}
