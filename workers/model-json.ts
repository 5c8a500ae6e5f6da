/**
 * The shape of `public/models/model.json`, written by `training/` (Python) and read by the engine and the UI.
 * Python writes it; this type is the contract. `tests/unit/model-json.test.ts` checks the shipped file against it.
 */

/** A metric with its bootstrap 95 % interval. */
export interface MetricWithInterval {
  value: number;
  ci95: [number, number];
}

/** The metrics of one evaluation protocol (names are stable keys; the UI labels them). */
export interface ProtocolMetrics {
  /** Human description, e.g. "Repeated stratified 5-fold CV, 5 repeats, out-of-fold predictions". */
  protocol: string;
  /** Wafers and fails the metrics were computed on. */
  rows: number;
  fails: number;
  roc_auc: MetricWithInterval;
  pr_auc: MetricWithInterval;
  balanced_error_rate: MetricWithInterval;
  g_mean: MetricWithInterval;
  /** Fail class, at the shipped threshold. */
  recall: MetricWithInterval;
  precision: MetricWithInterval;
  f1: MetricWithInterval;
  /** Share of wafers flagged at the threshold. */
  flagged_share: MetricWithInterval;
}

/** Training statistics of one sensor, for drift checks. `null` where the sensor never had a reading. */
export interface SensorStats {
  missing_rate: number;
  min: number | null;
  max: number | null;
  p01: number | null;
  p99: number | null;
}

export interface ModelJson {
  name: string;
  version: string;
  /** ISO 8601 date-time. */
  created: string;
  description: string;
  onnx: {
    /** File name relative to model.json, e.g. "secom-xgb.onnx". */
    file: string;
    sha256: string;
    bytes: number;
    /** Input tensor name; float32 [N, features.length], NaN = missing reading. */
    input: string;
    outputs: {
      /** int64 [N]: 1 = fail at the model's internal 0.5 cut (the app applies `threshold` itself). */
      label: string;
      /** float32 [N, 2]: column 1 is the probability of fail. */
      probability: string;
    };
    opset: Record<string, number>;
  };
  /** Ordered feature names: input column i of the ONNX model is features[i]. */
  features: string[];
  /** Other header names accepted for each feature (exact match after trim; case-insensitive). */
  aliases: Record<string, string[]>;
  /** Header names recognised as a wafer id column ("" = the unnamed first column pandas/Excel write). */
  id_column_names: string[];
  label: {
    /** Header names recognised as a label column (case-insensitive). */
    column_names: string[];
    /** Cell texts meaning fail / pass (case-insensitive, trimmed). */
    fail_values: string[];
    pass_values: string[];
    positive_class: string;
  };
  threshold: {
    value: number;
    /** The documented rule that chose it, in words. */
    rule: string;
  };
  metrics: {
    /**
     * The headline: forward in time (rolling origin) — every wafer of the latest half scored by models trained
     * only on earlier wafers, pooled. Absent when the training data had no time column.
     */
    rolling_origin?: ProtocolMetrics;
    /** Shuffled cross-validation: reported, overstates accuracy on later wafers. */
    cv: ProtocolMetrics;
    /** The single time-forward split (earliest 75 % → latest 25 %); absent without a time column. */
    time_forward?: ProtocolMetrics;
  };
  /** The chosen recipe in words plus the hyper-parameters, for the model card. */
  recipe: {
    summary: string;
    params: Record<string, number | string | boolean | null>;
    selected_features: number;
  };
  training: {
    rows: number;
    fails: number;
    /** ISO dates of the first and last training wafer; null when the data had no time column. */
    from: string | null;
    to: string | null;
    data_files: { name: string; sha256: string }[];
    source: string;
    licence: string;
    commit: string;
    versions: Record<string, string>;
  };
  limitations: string[];
  sensors: Record<string, SensorStats>;
  /** The bundle's other files (docs/bundle.md, format 2), each checked against its sha256 before use. */
  bundle?: {
    format: number;
    files: Record<string, BundleFile>;
  };
}

/** One file of a model bundle, a plain name in model.json's folder. */
export interface BundleFile {
  file: string;
  sha256: string;
  bytes: number;
}
