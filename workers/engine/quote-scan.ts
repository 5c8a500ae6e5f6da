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
 * because what happens at a record's end (CR LF pairing, line counting, buffer ends) differs between them. The
 * splitter's byte loop reads the same machine from a lookup table ({@link byteTransitions}) built from it.
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

/** Table entries for a line break: one that ends the record, and one inside a quoted field (state stays QUOTED). */
export const RECORD_BREAK = 5;
export const LINE_BREAK_IN_QUOTES = 6;

/** Table entries: a state, or one of the two line-break markers. */
export type ByteTransition = QuoteState | typeof RECORD_BREAK | typeof LINE_BREAK_IN_QUOTES;

const tables = new Map<number, Uint8Array>();

/**
 * The machine for one delimiter as a table over bytes: `table[(state << 8) | byte]` is the state after the byte,
 * or RECORD_BREAK / LINE_BREAK_IN_QUOTES at a line break (the caller pairs CR LF and sets the state). The
 * splitter's loop runs once per byte of the file, and one table load there is cheaper than a call and a switch;
 * the table is computed from stepQuoteState and lineBreakEndsRecord, so the rules stay written once.
 */
export function byteTransitions(delim: number): Uint8Array {
  let table = tables.get(delim);
  if (table) return table;
  table = new Uint8Array(5 << 8);
  for (const state of [FIELD_START, UNQUOTED, QUOTED, QUOTE_IN_QUOTED, SPACE_AFTER_QUOTE] as const) {
    for (let byte = 0; byte < 256; byte++) {
      let next: ByteTransition;
      if (!isLineBreak(byte)) next = stepQuoteState(state, byte, delim);
      else next = lineBreakEndsRecord(state) ? RECORD_BREAK : LINE_BREAK_IN_QUOTES;
      table[(state << 8) | byte] = next;
    }
  }
  tables.set(delim, table);
  return table;
}
