/**
 * The few rules both sides must state identically, pure and free of DOM or worker APIs: the UI imports them for
 * display, the engine for its messages, counts and the download.
 */

/** A wafer is flagged when its fault probability is at least the threshold; an unscored one (NaN/null) never is. */
export function isFlagged(probability: number | null, threshold: number): boolean {
  return probability !== null && probability >= threshold;
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
