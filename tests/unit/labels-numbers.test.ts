/**
 * Label codings and number formats (issue 10, points 5 and 6), on the real model and engine: a coding that could be
 * read either way is never used until the user says which value means fail; the id and label roles can be changed;
 * the number format is detected, reported and switchable; a number is never neutralized in the download.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, test } from 'vitest';
import type { Evaluation, LoadChoices, LoadResult } from '../../workers/api';
import type { Engine } from '../../workers/engine/engine';
import { blobText, fileFromDisk, fileFromText, path, readyEngine, results, THRESHOLD, unwrap } from './helpers';

const bad = (name: string) => `tests/fixtures/bad/${name}`;
const ALL_ROWS = { start: 0, count: 12, colStart: 0, colCount: 1, order: 'file' } as const;

let engine: Engine;
/** The first 12 sample wafers with their own -1/1 labels (decimal-comma.csv holds exactly those, read as the sample). */
let reference: Evaluation;
let referenceProbabilities: (number | null)[];

async function load(file: File, choices: LoadChoices = {}): Promise<LoadResult> {
  return unwrap(await engine.load(file, THRESHOLD, undefined, choices));
}

async function probabilities(): Promise<(number | null)[]> {
  return unwrap(await engine.window(ALL_ROWS)).rows.map((r) => r.probability);
}

function confusion(e: Evaluation | null | undefined) {
  return e ? { tp: e.tp, fp: e.fp, tn: e.tn, fn: e.fn } : null;
}

beforeAll(async () => {
  engine = await readyEngine();
  const loaded = await load(fileFromDisk(bad('decimal-comma.csv')));
  expect(loaded.summary.label?.coding).toBe('declared');
  reference = loaded.results?.evaluation as Evaluation;
  expect(reference.tp + reference.fn).toBeGreaterThan(0);
  referenceProbabilities = await probabilities();
});

describe('label codings', () => {
  test('1 = pass / 0 = fail is not read as the model’s 0 = pass: no comparison until the user says which value means fail', async () => {
    const file = fileFromDisk(bad('labels-1-pass-0-fail.csv'));
    const guessed = await load(file);
    const fails = reference.tp + reference.fn;
    expect(guessed.summary.label).toMatchObject({
      header: 'Good/Bad',
      coding: 'unresolved',
      failValue: null,
      values: [
        { value: '1', rows: 12 - fails },
        { value: '0', rows: fails },
      ],
      fails: 0,
      passes: 0,
      unknown: 12,
    });
    expect(results({ ok: true, value: guessed }).evaluation).toBeNull();

    const chosen = await load(file, { failValue: '0' });
    expect(chosen.summary.label).toMatchObject({ coding: 'chosen', failValue: '0', fails, passes: 12 - fails, unknown: 0 });
    expect(confusion(chosen.results?.evaluation)).toEqual(confusion(reference));
  });

  test.each<[string, string, string]>([
    ['true/false', 'false', 'true'],
    ['yes/no', 'no', 'yes'],
    ['1/2', '1', '2'],
    ['0x0/0x1', '0x0', '0x1'],
  ])('%s is asked, never guessed; the chosen value gives the same comparison', async (_name, pass, fail) => {
    const text = readFileSync(path(bad('labels-class-ab.csv')), 'utf8').replace(/,A\n/g, `,${pass}\n`).replace(/,B\n/g, `,${fail}\n`);
    const guessed = await load(fileFromText(text));
    expect(guessed.summary.label?.coding).toBe('unresolved');
    expect(guessed.results?.evaluation).toBeNull();
    const chosen = await load(fileFromText(text), { failValue: fail });
    expect(confusion(chosen.results?.evaluation)).toEqual(confusion(reference));
  });

  test('a "class" column holding A/B is listed as the label; its role can be changed or removed, an id picked or dropped', async () => {
    const file = fileFromDisk(bad('labels-class-ab.csv'));
    const detected = await load(file);
    const labelIndex = 591;
    expect(detected.summary.columns[labelIndex]).toMatchObject({ header: 'class', role: 'label' });
    expect(detected.summary.label).toMatchObject({ column: labelIndex, coding: 'unresolved' });
    expect(detected.summary.label?.values.map((v) => v.value)).toEqual(['A', 'B']);

    const none = await load(file, { labelColumn: null });
    expect(none.summary.label).toBeNull();
    expect(none.summary.columns[labelIndex]?.role).toBe('other');
    expect(none.results?.evaluation).toBeNull();

    const coded = await load(file, { failValue: 'B' });
    expect(confusion(coded.results?.evaluation)).toEqual(confusion(reference));

    const noId = await load(file, { idColumn: null });
    expect(noId.summary.idColumn).toBeNull();
    expect(unwrap(await engine.window(ALL_ROWS)).rows[0]?.name).toBe('Row 1');

    // The wafer names become the label column and the labels name the wafers: both roles change at once.
    const swapped = await load(file, { idColumn: labelIndex, labelColumn: 0 });
    expect(swapped.summary.idColumn).toBe(labelIndex);
    expect(swapped.summary.label).toMatchObject({ column: 0, coding: 'unresolved' });
    expect(unwrap(await engine.window(ALL_ROWS)).rows[0]?.name).toMatch(/^[AB]$/);
  });

  test('a label column with only missing labels asks nothing: every label is unknown', async () => {
    const text = readFileSync(path(bad('labels-class-ab.csv')), 'utf8').replace(/,[AB]\n/g, ',NA\n');
    const loaded = await load(fileFromText(text));
    expect(loaded.summary.label).toMatchObject({ coding: 'declared', values: [], fails: 0, passes: 0, unknown: 12 });
    expect(loaded.results?.evaluation).toBeNull();
  });

  test('a sensor column cannot take a role; a failed reload keeps the loaded file', async () => {
    const file = fileFromDisk(bad('labels-class-ab.csv'));
    await load(file, { failValue: 'B' });
    const r = await engine.load(file, THRESHOLD, undefined, { labelColumn: 5 });
    expect(r.ok ? null : r.error).toEqual({ code: 'bad-request', message: 'Column “Sensor-5” holds sensor readings; it cannot be the label column.' });
    expect(confusion(results(await engine.summarize(THRESHOLD)).evaluation)).toEqual(confusion(reference));
  });

  test('an edited label is read in the chosen coding, and not at all while the coding is unresolved', async () => {
    const file = fileFromDisk(bad('labels-class-ab.csv'));
    await load(file);
    const unresolved = unwrap(await engine.setCell({ row: 0, col: 591, text: 'B' }, THRESHOLD));
    expect(unresolved.results?.evaluation).toBeNull();
    await load(file, { failValue: 'B' });
    const before = results(await engine.summarize(THRESHOLD)).evaluation as Evaluation;
    const row = readFileSync(path(bad('labels-class-ab.csv')), 'utf8').split('\n').slice(1).findIndex((l) => l.endsWith(',A'));
    const edited = unwrap(await engine.setCell({ row, col: 591, text: 'B' }, THRESHOLD));
    const after = edited.results?.evaluation as Evaluation;
    expect([after.tp + after.fn, after.evaluated]).toEqual([before.tp + before.fn + 1, before.evaluated]);
  });
});

describe('number formats', () => {
  test('a tab-separated file with decimal commas is detected, read as the sample, and its negative numbers are not neutralized', async () => {
    const loaded = await load(fileFromDisk(bad('decimal-comma-tab.csv')));
    const s = loaded.summary;
    expect(s).toMatchObject({ delimiter: '\t', numberFormat: 'comma', numberFormatChosen: false, cellIssueCount: 0, formulaLikeCells: 0 });
    expect(s.notices).toEqual([
      'Numbers are read with a decimal comma (detected from the file): 3,14 is 3.14. 5,036 readings have a decimal comma. If that is wrong, change “Numbers” under Columns.',
    ]);
    expect(await probabilities()).toEqual(referenceProbabilities);
    const out = await blobText(unwrap(await engine.exportCsv({ threshold: THRESHOLD, onlyFlagged: false })).blob);
    expect(out).toContain('\t-0,0279\t');
    expect(out).not.toContain("'");
  });

  test('points between digit groups in a decimal-comma file are thousands separators, said so; switching to points is reported', async () => {
    const file = fileFromDisk(bad('thousands-point.csv'));
    const text = readFileSync(path(bad('thousands-point.csv')), 'utf8');
    const cells = text.trim().split('\n').slice(1).flatMap((l) => l.split(';').slice(1, 591));
    const grouped = cells.filter((v) => /^-?\d{1,3}(\.\d{3})+(,\d*)?$/.test(v)).length;
    const commas = cells.filter((v) => v.includes(',')).length;
    expect(grouped).toBeGreaterThan(0);

    const detected = await load(file);
    expect(detected.summary).toMatchObject({ numberFormat: 'comma', numberFormatChosen: false, cellIssueCount: 0 });
    expect(detected.summary.notices).toEqual([
      `Numbers are read with a decimal comma (detected from the file): 3,14 is 3.14. ${commas.toLocaleString('en-US')} readings have a decimal comma. ` +
        `${grouped.toLocaleString('en-US')} readings have a point between groups of three digits, read as a thousands separator: 2.968 is 2968. ` +
        'If that is wrong, change “Numbers” under Columns.',
    ]);
    expect(await probabilities()).toEqual(referenceProbabilities);

    const points = await load(file, { numberFormat: 'point' });
    const onlyWithComma = cells.filter((v) => v.includes(',')).length;
    expect(points.summary).toMatchObject({ numberFormat: 'point', numberFormatChosen: true, cellIssueCount: onlyWithComma });
    expect(points.summary.notices).toEqual([
      `${onlyWithComma.toLocaleString('en-US')} cells are numbers only when read with a decimal comma, not with the decimal point this file is read with; ` +
        'they are treated as missing readings. If that is wrong, change “Numbers” under Columns.',
    ]);
    expect(points.summary.cellIssues[0]?.raw).toMatch(/,/);
  });

  test('a file whose only points could separate thousands says it read them as decimal points', async () => {
    const s = unwrap(await engine.load(fileFromText('Sensor-1;Sensor-2\n2.968;1.234\n12;7\n'), THRESHOLD)).summary;
    expect(s.numberFormat).toBe('point');
    expect(s.notices).toEqual(['Numbers are read with a decimal point (detected from the file): readings such as 2.968 are 2.968, not 2968. If that is wrong, change “Numbers” under Columns.']);
  });

  test('a bad number format is a bad request', async () => {
    const r = await engine.load(fileFromDisk(bad('thousands-point.csv')), THRESHOLD, undefined, { numberFormat: 'swiss' as 'point' });
    expect(r.ok ? null : r.error.code).toBe('bad-request');
  });
});
