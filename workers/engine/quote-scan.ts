/**
 * The CSV quote rules, in one place: a state machine over code units (bytes of UTF-8, or a string's char codes —
 * the characters it looks at are all ASCII) that the record splitter (csv.ts), the export's field spans
 * (export.ts) and the delimiter sniffer (csv.ts) all step through, so they cannot disagree about where a quoted
 * field starts and ends. The rules are PapaParse's:
 *
 * - a quote opens a quoted field only at the start of a field (`5"` is a literal quote);
 * - inside a quoted field, `""` is a literal quote;
 * - a quote followed by the delimiter or a line break, optionally after spaces or tabs, closes the field; a quote
 *   followed by anything else is taken as part of the field;
 * - outside a quoted field, CR LF, LF and lone CR end a record ({@link lineBreakEndsRecord}); inside one they are
 *   part of the field.
 *
 * {@link stepQuoteState} treats line breaks as ordinary characters; callers test {@link isLineBreak} first,
 * because what happens at a record's end (CR LF pairing, line counting, buffer ends) differs between them.
 * Inside a field the splitter jumps to the next byte that matters with {@link nextQuoteOrLineBreak} and
 * {@link nextDelimiterOrLineBreak}.
 */

/** At the start of a field: after a delimiter, or at the start of a record. */
export const FIELD_START = 0;
/** In a field that did not start with a quote. */
export const UNQUOTED = 1;
/** Inside a quoted field. */
export const QUOTED = 2;
/** Just after a quote inside a quoted field: the closing quote, or the first of a `""` pair. */
export const QUOTE_IN_QUOTED = 3;
/** Spaces or tabs after such a quote: still a closing quote if the delimiter or a line break follows. */
export const SPACE_AFTER_QUOTE = 4;

export type QuoteState = typeof FIELD_START | typeof UNQUOTED | typeof QUOTED | typeof QUOTE_IN_QUOTED | typeof SPACE_AFTER_QUOTE;

export const QUOTE = 0x22;
export const LF = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const TAB = 0x09;

/**
 * The state after code unit `c` (not a line break), where `delim` is the delimiter's code. Returns FIELD_START
 * exactly when `c` is a delimiter that ends a field (not one inside quotes), so callers count fields by it.
 */
export function stepQuoteState(state: QuoteState, c: number, delim: number): QuoteState {
  switch (state) {
    case QUOTED:
      return c === QUOTE ? QUOTE_IN_QUOTED : QUOTED;
    case FIELD_START:
      return c === QUOTE ? QUOTED : c === delim ? FIELD_START : UNQUOTED;
    case UNQUOTED:
      return c === delim ? FIELD_START : UNQUOTED;
    case QUOTE_IN_QUOTED:
      if (c === QUOTE) return QUOTED;
      if (c === delim) return FIELD_START;
      return c === SPACE || c === TAB ? SPACE_AFTER_QUOTE : QUOTED;
    case SPACE_AFTER_QUOTE:
      if (c === delim) return FIELD_START;
      return c === SPACE || c === TAB ? SPACE_AFTER_QUOTE : QUOTED;
  }
}

export function isLineBreak(c: number): boolean {
  return c === LF || c === CR;
}

/** Whether a line break met in `state` ends the record (after it, the state is FIELD_START). */
export function lineBreakEndsRecord(state: QuoteState): boolean {
  return state !== QUOTED;
}

/**
 * The index of the first quote or line break in bytes[from, to), or `to`. In a quoted field no other byte changes
 * the state, so the splitter skips them with this loop, which does less per byte than stepping.
 */
export function nextQuoteOrLineBreak(bytes: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = bytes[i] as number;
    if (c === QUOTE || c === LF || c === CR) return i;
  }
  return to;
}

/** The index of the first delimiter or line break in bytes[from, to), or `to`: the same for an unquoted field. */
export function nextDelimiterOrLineBreak(bytes: Uint8Array, from: number, to: number, delim: number): number {
  for (let i = from; i < to; i++) {
    const c = bytes[i] as number;
    if (c === delim || c === LF || c === CR) return i;
  }
  return to;
}
