/** Header → model feature mapping (names + aliases), id and label detection, missing/duplicate reports. */
import type { ColumnInfo, LoadChoices, MappingReport } from '../api';
import type { ModelJson } from '../model-json';
import { formatCount } from '../format';
import { fail } from './errors';

export interface ColumnMapping {
  columns: ColumnInfo[];
  mapping: MappingReport;
  /** For each file column: the feature index it feeds, or -1 (duplicates and non-features are -1). */
  featureOfColumn: Int32Array;
  idColumn: number | null;
  labelColumn: number | null;
  /** What the load report says about header names that held invisible characters (ignored for matching). */
  invisibleHeaderNotices: string[];
}

/**
 * Characters that show as nothing yet make "Sensor-1" another name: a BOM (U+FEFF) left inside a header when
 * files were joined, zero-width spaces and joiners copied from web pages or chat.
 */
const INVISIBLE = /[\u200B-\u200D\u2060\uFEFF]/g;
const INVISIBLE_NAMES: Record<string, string> = {
  '\u200B': 'zero-width space (U+200B)',
  '\u200C': 'zero-width non-joiner (U+200C)',
  '\u200D': 'zero-width joiner (U+200D)',
  '\u2060': 'word joiner (U+2060)',
  '\uFEFF': 'byte order mark (U+FEFF)',
};

function norm(s: string): string {
  return s.replace(INVISIBLE, '').trim().toLowerCase();
}

const INVISIBLE_EXAMPLES = 3;

/** "Column 13 (“Sensor-12”) has an invisible zero-width space (U+200B) in its name: it was ignored, so the column feeds Sensor-12." */
function describeInvisibleHeaders(header: string[], columns: ColumnInfo[]): string[] {
  const withInvisible = columns.filter((c) => (header[c.index] ?? '').search(INVISIBLE) !== -1);
  const notes = withInvisible.slice(0, INVISIBLE_EXAMPLES).map((c) => {
    const h = header[c.index] ?? '';
    const kinds = [...new Set(h.match(INVISIBLE) ?? [])].map((ch) => INVISIBLE_NAMES[ch] ?? ch).join(' and a ');
    const clean = h.replace(INVISIBLE, '').trim();
    const role =
      c.role === 'feature' ? `the column feeds ${c.feature ?? ''}` : c.role === 'label' ? 'the column is read as the label' : c.role === 'id' ? 'the column names the wafers' : 'the name still matches no sensor';
    return `Column ${formatCount(c.index + 1)} (“${clean}”) has an invisible ${kinds} in its name: it was ignored, so ${role}.`;
  });
  const more = withInvisible.length - notes.length;
  if (more > 0) notes.push(`${formatCount(more)} more column ${more === 1 ? 'name has' : 'names have'} invisible characters, ignored the same way.`);
  return notes;
}

const MAX_RUNS_SHOWN = 8;

/**
 * Collapse missing features (given by feature index, sorted) into runs by model order:
 * "Sensor-5, Sensor-9 … Sensor-12 missing (5 columns)".
 */
export function describeMissing(features: string[], missingIdx: number[]): string | null {
  if (missingIdx.length === 0) return null;
  const sorted = [...missingIdx].sort((a, b) => a - b);
  const runs: string[] = [];
  let runStart = sorted[0] as number;
  let prev = runStart;
  const flush = (a: number, b: number) => {
    const fa = features[a] ?? String(a);
    const fb = features[b] ?? String(b);
    if (a === b) runs.push(fa);
    else if (b === a + 1) runs.push(fa, fb);
    else runs.push(`${fa} … ${fb}`);
  };
  for (let k = 1; k < sorted.length; k++) {
    const v = sorted[k] as number;
    if (v === prev + 1) {
      prev = v;
      continue;
    }
    flush(runStart, prev);
    runStart = v;
    prev = v;
  }
  flush(runStart, prev);
  const n = sorted.length;
  const shown = runs.length > MAX_RUNS_SHOWN ? `${runs.slice(0, MAX_RUNS_SHOWN).join(', ')} and others` : runs.join(', ');
  return `${shown} missing (${n} ${n === 1 ? 'column' : 'columns'})`;
}

/**
 * The user's picks of the id and label columns (null for none) replace the detected ones: only a column that feeds
 * no sensor, and not the one holding the other role after the picks.
 */
function assignRoles(columns: ColumnInfo[], detected: { id: number | null; label: number | null }, choices: LoadChoices): { id: number | null; label: number | null } {
  const roles = { ...detected };
  const picks = (['id', 'label'] as const).filter((role) => choices[role === 'id' ? 'idColumn' : 'labelColumn'] !== undefined);
  for (const role of picks) {
    const current = roles[role];
    if (current !== null) (columns[current] as ColumnInfo).role = 'other';
    roles[role] = null;
  }
  for (const role of picks) {
    const chosen = choices[role === 'id' ? 'idColumn' : 'labelColumn'] ?? null;
    if (chosen === null) continue;
    const col = Number.isInteger(chosen) ? columns[chosen] : undefined;
    if (!col) return fail('bad-request', `Column ${String(chosen)} does not exist in this file.`);
    if (col.role === 'feature') fail('bad-request', `Column “${col.header}” holds sensor readings; it cannot be the ${role} column.`);
    if (col.role !== 'other') fail('bad-request', `Column “${col.header}” is already the ${col.role} column.`);
    col.role = role;
    roles[role] = chosen;
  }
  return roles;
}

function isNumberText(h: string): boolean {
  const t = h.trim();
  return t !== '' && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t);
}

export function mapColumns(header: string[], model: ModelJson, choices: LoadChoices = {}): ColumnMapping {
  const lookup = new Map<string, number>();
  model.features.forEach((f, i) => {
    if (!lookup.has(norm(f))) lookup.set(norm(f), i);
  });
  model.features.forEach((f, i) => {
    for (const a of model.aliases[f] ?? []) if (!lookup.has(norm(a))) lookup.set(norm(a), i);
  });
  const idNames = new Set(model.id_column_names.map(norm));
  idNames.add('unnamed: 0');
  const labelNames = new Set(model.label.column_names.map(norm));

  const columns: ColumnInfo[] = [];
  const featureOfColumn = new Int32Array(header.length).fill(-1);
  const firstColumnOf = new Int32Array(model.features.length).fill(-1);
  const dupCols = new Map<number, number[]>();
  let idColumn: number | null = null;
  let labelColumn: number | null = null;
  let unnamed: number | null = null;

  header.forEach((h, index) => {
    const key = norm(h);
    const fi = lookup.get(key);
    if (fi !== undefined) {
      const feature = model.features[fi] as string;
      if (firstColumnOf[fi] === -1) {
        firstColumnOf[fi] = index;
        featureOfColumn[index] = fi;
        columns.push({ index, header: h, role: 'feature', feature });
      } else {
        const list = dupCols.get(fi) ?? [firstColumnOf[fi] as number];
        list.push(index);
        dupCols.set(fi, list);
        columns.push({ index, header: h, role: 'feature', feature, duplicate: true });
      }
      return;
    }
    if (labelColumn === null && labelNames.has(key)) {
      labelColumn = index;
      columns.push({ index, header: h, role: 'label' });
      return;
    }
    if (idColumn === null && key !== '' && idNames.has(key)) {
      idColumn = index;
      columns.push({ index, header: h, role: 'id' });
      return;
    }
    if (key === '' && unnamed === null) unnamed = index;
    columns.push({ index, header: h, role: 'other' });
  });
  // The unnamed column pandas/Excel write for the index (first, or last after a reordering) names the wafers,
  // unless a named id column exists.
  if (idColumn === null && unnamed !== null && idNames.has('')) {
    idColumn = unnamed;
    const col = columns[unnamed];
    if (col) col.role = 'id';
  }

  ({ id: idColumn, label: labelColumn } = assignRoles(columns, { id: idColumn, label: labelColumn }, choices));

  const mappedCount = model.features.reduce((acc, _f, i) => acc + (firstColumnOf[i] !== -1 ? 1 : 0), 0);
  if (mappedCount === 0) {
    const nonEmpty = header.map((h) => h.replace(INVISIBLE, '').trim()).filter((h) => h !== '');
    if (labelColumn !== null && header.every((_h, i) => i === labelColumn || i === idColumn)) {
      fail(
        'no-features',
        `This file has only a label column (“${header[labelColumn]}”) and no sensor readings. Upload the file with the sensor columns (${model.features[0]} … ${model.features[model.features.length - 1]}).`,
      );
    }
    const found = nonEmpty.slice(0, 5).map((h) => `“${h.length > 30 ? `${h.slice(0, 30)}…` : h}”`);
    const looksNumeric = nonEmpty.length > 0 && nonEmpty.slice(0, 5).every((h) => h !== '' && !Number.isNaN(Number(h)));
    fail(
      'no-features',
      `${header.length === 1 ? 'The only column does not match any of' : `None of the ${formatCount(header.length)} columns match`} the model's sensors (expected headers like ${model.features[0]}, ${model.features[1] ?? ''} …). ` +
        (found.length > 0 ? `Found: ${found.join(', ')}${nonEmpty.length > 5 ? ` and ${nonEmpty.length - 5} more` : ''}.` : 'The header row is empty.') +
        (looksNumeric ? ' The first row looks like numbers — the file may be missing its header row.' : ''),
    );
  }

  // A file without its header row: the first row of readings is taken as the header. A few of its numbers may even
  // match the numeric Kaggle aliases ("0" … "589"), so check for header cells that are numbers yet no sensor's name.
  const numericUnmapped = header.filter((h, i) => featureOfColumn[i] === -1 && !(columns[i]?.role === 'feature') && isNumberText(h));
  if (numericUnmapped.length >= Math.max(3, Math.ceil(header.length * 0.2))) {
    const shown = numericUnmapped.slice(0, 3).map((h) => `“${h.trim()}”`).join(', ');
    fail(
      'no-features',
      `The first row of this file looks like readings (${shown} …), not column names: the header row seems to be missing. ` +
        `Add the header row (${model.features[0]}, ${model.features[1] ?? ''} …, as in the sample file) and upload the file again.`,
    );
  }

  const missingIdx: number[] = [];
  for (let i = 0; i < model.features.length; i++) if (firstColumnOf[i] === -1) missingIdx.push(i);
  const duplicateFeatures = [...dupCols.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([fi, cols]) => ({ feature: model.features[fi] as string, columns: cols }));
  const mapping: MappingReport = {
    missingFeatures: missingIdx.map((i) => model.features[i] as string),
    missingText: describeMissing(model.features, missingIdx),
    duplicateFeatures,
    needsConsent: missingIdx.length > 0 || duplicateFeatures.length > 0,
  };
  return { columns, mapping, featureOfColumn, idColumn, labelColumn, invisibleHeaderNotices: describeInvisibleHeaders(header, columns) };
}
