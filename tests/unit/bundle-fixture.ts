/**
 * The synthetic bundle (tests/fixtures/bundles/synthetic/) as the unit and end-to-end tests read it: only through
 * what the contract promises (docs/bundle.md, workers/model-json.ts), so the training pipeline's bundle can replace
 * the stand-in one (make_standin.py) with no test change. Its wafer file is written from golden.json itself.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const BUNDLE_DIR = 'tests/fixtures/bundles/synthetic';

export interface BundleManifest {
  name: string;
  version: string;
  onnx: { file: string; sha256: string };
  features: string[];
  id_column_names: string[];
  label: { column_names: string[]; fail_values: string[]; pass_values: string[] };
  threshold: { value: number };
  bundle: { format: number; files: Record<string, { file: string; sha256: string }> };
}

export interface GoldenWafer {
  id: string;
  values: (number | null)[];
  probability: number;
}

export interface BundleFixture {
  dir: string;
  /** The bundle's file names, sorted. */
  names: string[];
  manifestText: string;
  manifest: BundleManifest;
  golden: { model_sha256: string; wafers: GoldenWafer[] };
  /** The id column the wafer file names its wafers in (the bundle's first non-empty id name). */
  idHeader: string;
  /** A sensor of this bundle that the shipped model does not have: its last, the wafer file's third column (in the grid's first view). */
  ownSensor: string;
  /**
   * golden.json's wafers as a CSV, as a user would give them: a timestamp column first, the ids, the sensors in
   * reverse model order (mapped by name, not position), a label column of the bundle's own name and values (made
   * up: every fifth wafer fails; golden has no labels) and a free-text column.
   */
  wafersCsv: string;
}

function cell(v: number | null): string {
  return v === null ? '' : String(v);
}

export function bundleFixture(root: string): BundleFixture {
  const dir = `${root}${BUNDLE_DIR}`;
  const manifestText = readFileSync(`${dir}/model.json`, 'utf8');
  const manifest = JSON.parse(manifestText) as BundleManifest;
  const golden = JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8')) as BundleFixture['golden'];
  const idHeader = manifest.id_column_names.find((n) => n.trim() !== '') ?? 'wafer_id';
  const labelHeader = manifest.label.column_names[0] ?? 'label';
  const order = manifest.features.map((_f, i) => manifest.features.length - 1 - i);
  const header = ['timestamp', idHeader, ...order.map((i) => manifest.features[i] as string), labelHeader, 'operator_note'];
  const start = Date.UTC(2026, 0, 5, 6);
  const rows = golden.wafers.map((w, r) => {
    const label = r % 5 === 0 ? manifest.label.fail_values[0] : manifest.label.pass_values[0];
    const stamp = new Date(start + r * 3_600_000).toISOString().slice(0, 19);
    return [stamp, w.id, ...order.map((i) => cell(w.values[i] ?? null)), label ?? '', `note ${r + 1}`].join(',');
  });
  const ownSensor = manifest.features.at(-1) as string;
  return {
    dir,
    names: readdirSync(dir).sort(),
    manifestText,
    manifest,
    golden,
    idHeader,
    ownSensor,
    wafersCsv: `${header.join(',')}\n${rows.join('\n')}\n`,
  };
}
