/** Header → feature mapping against the real model.json. */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { describeMissing, mapColumns } from '../../workers/engine/columns';
import { EngineFailure } from '../../workers/engine/errors';
import { modelJson, path, SAMPLE } from './helpers';

const sampleHeader = readFileSync(path(SAMPLE), 'utf8').split('\n')[0]!.split(',');
const features = modelJson.features;

function mapError(header: string[]): EngineFailure {
  try {
    mapColumns(header, modelJson);
  } catch (e) {
    if (e instanceof EngineFailure) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('mapColumns', () => {
  test('the sample header: unnamed id column, 590 sensors, Good/Bad label', () => {
    const m = mapColumns(sampleHeader, modelJson);
    expect(m.idColumn).toBe(0);
    expect(m.labelColumn).toBe(591);
    expect(m.columns[0]).toEqual({ index: 0, header: '', role: 'id' });
    expect(m.columns[591]).toEqual({ index: 591, header: 'Good/Bad', role: 'label' });
    expect(m.columns.filter((c) => c.role === 'feature')).toHaveLength(590);
    expect(m.columns[1]).toEqual({ index: 1, header: 'Sensor-1', role: 'feature', feature: 'Sensor-1' });
    expect(m.featureOfColumn[590]).toBe(589);
    expect(m.mapping).toEqual({ missingFeatures: [], missingText: null, duplicateFeatures: [], needsConsent: false });
  });

  test('aliases, case and whitespace, any order; pandas "Unnamed: 0" id', () => {
    const header = ['Unnamed: 0', ...features.map((_f, i) => (i % 3 === 0 ? ` sensor_${i + 1} ` : i % 3 === 1 ? String(i) : `SENSOR-${i + 1}`)).reverse(), 'pass/fail'];
    const m = mapColumns(header, modelJson);
    expect(m.idColumn).toBe(0);
    expect(m.labelColumn).toBe(header.length - 1);
    expect(m.mapping.needsConsent).toBe(false);
    // Column 1 holds the last feature (reversed order).
    expect(m.columns[1]?.feature).toBe(features[589]);
    expect(m.featureOfColumn[1]).toBe(589);
    expect(m.featureOfColumn[590]).toBe(0);
  });

  test('missing features are reported as collapsed ranges', () => {
    const drop = new Set(['Sensor-5', 'Sensor-9', 'Sensor-10', 'Sensor-11', 'Sensor-12', ...features.slice(562)]);
    const m = mapColumns(sampleHeader.filter((h) => !drop.has(h)), modelJson);
    expect(m.mapping.missingFeatures).toHaveLength(5 + 28);
    expect(m.mapping.missingText).toBe('Sensor-5, Sensor-9 … Sensor-12, Sensor-563 … Sensor-590 missing (33 columns)');
    expect(m.mapping.needsConsent).toBe(true);
  });

  test('describeMissing formats single, pair and long runs', () => {
    expect(describeMissing(features, [562, 563, 564].concat(Array.from({ length: 25 }, (_, i) => 565 + i)))).toBe('Sensor-563 … Sensor-590 missing (28 columns)');
    expect(describeMissing(features, [4, 8, 9, 10, 11])).toBe('Sensor-5, Sensor-9 … Sensor-12 missing (5 columns)');
    expect(describeMissing(features, [0, 1])).toBe('Sensor-1, Sensor-2 missing (2 columns)');
    expect(describeMissing(features, [6])).toBe('Sensor-7 missing (1 column)');
    expect(describeMissing(features, [])).toBeNull();
    expect(describeMissing(features, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])).toMatch(/and others missing \(10 columns\)$/);
  });

  test('duplicates: the first column feeds the model, later ones are kept and reported', () => {
    const header = [...sampleHeader, 'Operator', 'Sensor-5', 'sensor_5'];
    const m = mapColumns(header, modelJson);
    expect(m.mapping.duplicateFeatures).toEqual([{ feature: 'Sensor-5', columns: [5, 593, 594] }]);
    expect(m.columns[593]).toEqual({ index: 593, header: 'Sensor-5', role: 'feature', feature: 'Sensor-5', duplicate: true });
    expect(m.featureOfColumn[5]).toBe(4);
    expect(m.featureOfColumn[593]).toBe(-1);
    expect(m.columns[592]?.role).toBe('other');
    expect(m.mapping.needsConsent).toBe(true);
  });

  test('an unnamed column is the id wherever it is, unless a named id column exists', () => {
    expect(mapColumns(['Sensor-1', ''], modelJson).idColumn).toBe(1);
    const named = mapColumns(['', 'Sensor-1', 'wafer_id'], modelJson);
    expect(named.idColumn).toBe(2);
    expect(named.columns[0]?.role).toBe('other');
  });

  test('no features at all names what was found', () => {
    const e = mapError(['time', 'temperature', 'pressure']);
    expect(e.code).toBe('no-features');
    expect(e.message).toContain('“time”, “temperature”, “pressure”');
    const headerless = mapError(['3030.93', '2564', '2187.7333']);
    expect(headerless.message).toMatch(/missing its header row/);
  });

  test('a file with only a label column gets its own message', () => {
    const e = mapError(['Good/Bad']);
    expect(e.code).toBe('no-features');
    expect(e.message).toMatch(/only a label column \(“Good\/Bad”\)/);
  });
});
