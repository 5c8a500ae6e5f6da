/**
 * Maps the scroller's scrollTop to a "virtual" scroll offset in the full table and back.
 *
 * Browsers cap an element's height (Chromium at about 33.5 M px, Firefox lower), so a table of rows × row height
 * taller than that cannot be scrolled to its end. Like FINOS regular-table's virtual mode, the spacer's height is
 * capped and, past the cap, the scroll range is stretched proportionally over the table: the top of the scroll
 * range shows the first row and its bottom the last. Below the cap the mapping is the identity, so positions are
 * exactly those of a plain, uncapped spacer.
 */

/** Comfortably below every browser's maximum element height, and coarse enough to keep scrolling steady. */
export const MAX_SPACER_PX = 12_000_000;

export interface ScrollScale {
  /** Height of the spacer the scroller really scrolls over (the body only, without the header). */
  spacerHeight: number;
  /** Rows × row height: the height the body would have without a cap. */
  naturalHeight: number;
  /** Height of the part of the viewport that shows rows (the scroller's client height minus the header). */
  viewportHeight: number;
  /** Virtual pixels per scroll pixel: 1 below the cap. */
  factor: number;
}

export function scrollScale(naturalHeight: number, viewportHeight: number, maxSpacer: number = MAX_SPACER_PX): ScrollScale {
  const spacerHeight = Math.min(naturalHeight, maxSpacer);
  const scrollRange = spacerHeight - viewportHeight;
  const virtualRange = naturalHeight - viewportHeight;
  const factor = naturalHeight > maxSpacer && scrollRange > 0 ? virtualRange / scrollRange : 1;
  return { spacerHeight, naturalHeight, viewportHeight, factor };
}

export function isScaled(scale: ScrollScale): boolean {
  return scale.factor !== 1;
}

function maxVirtualTop(scale: ScrollScale): number {
  return Math.max(0, scale.naturalHeight - scale.viewportHeight);
}

function maxScrollTop(scale: ScrollScale): number {
  return Math.max(0, scale.spacerHeight - scale.viewportHeight);
}

/** The offset into the full table shown at the top of the viewport for a given scrollTop. */
export function virtualTop(scale: ScrollScale, scrollTop: number): number {
  if (!isScaled(scale)) return scrollTop;
  return Math.min(maxVirtualTop(scale), Math.max(0, scrollTop * scale.factor));
}

/** The scrollTop that shows a given offset into the full table at the top of the viewport. */
export function scrollTopFor(scale: ScrollScale, virtual: number): number {
  if (!isScaled(scale)) return virtual;
  return Math.min(maxScrollTop(scale), Math.max(0, virtual / scale.factor));
}

/**
 * Where a row's top goes inside the spacer. Below the cap that is its natural place; past it, rows are drawn
 * relative to the viewport, at their distance from the virtual top.
 */
export function rowTopInSpacer(scale: ScrollScale, scrollTop: number, row: number, rowHeight: number): number {
  const natural = row * rowHeight;
  if (!isScaled(scale)) return natural;
  return scrollTop + natural - virtualTop(scale, scrollTop);
}

/**
 * The whole-pixel scrollTop that brings the band [top, top + height) of the full table fully into view, moving as
 * little as possible, or null when it is already in view. Rounding goes the way that keeps the band inside.
 */
export function scrollTopToReveal(scale: ScrollScale, scrollTop: number, top: number, height: number): number | null {
  const shown = virtualTop(scale, scrollTop);
  if (top < shown) return Math.floor(scrollTopFor(scale, top));
  const bottom = top + height;
  if (bottom > shown + scale.viewportHeight) return Math.ceil(scrollTopFor(scale, bottom - scale.viewportHeight));
  return null;
}
