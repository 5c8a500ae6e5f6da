"""Score a pandas frame of wafer readings with a bundle: one row each as (id, fault_probability, prediction),
by the page's rules for coverage and flags. Spark runs this on each batch of rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .bundle import Bundle
from .rules import ColumnMap

RESULT_COLUMNS = ("id", "fault_probability", "prediction")


class Scorer:
    """One onnxruntime session for a bundle; create it once per process (an executor), not per batch."""

    def __init__(self, bundle: Bundle) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        # One thread per session: Spark already runs one task per core.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        self.bundle = bundle
        self.used_features = bundle.used_features
        self.session = ort.InferenceSession(bundle.onnx_bytes, opts, providers=["CPUExecutionProvider"])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """P(fail) as float32, the browser's type, for rows of float32 readings (NaN = missing)."""
        (prob,) = self.session.run([self.bundle.probability_output], {self.bundle.input_name: x})
        return np.asarray(prob, dtype=np.float32)[:, 1]


def readings_matrix(frame: pd.DataFrame, columns: ColumnMap, n_features: int) -> np.ndarray:
    """Rows × features float32, NaN where a sensor has no column or no reading. The frame's sensor columns
    hold readings already (the Spark job parses them by the page's rules, rules.reading_column); null is
    missing."""
    x = np.full((len(frame), n_features), np.nan, dtype=np.float32)
    for position, feature in enumerate(columns.feature_of_column):
        if feature >= 0:
            x[:, feature] = frame.iloc[:, position].to_numpy(dtype=np.float32, na_value=np.nan)
    return x


# The page's coverage rule (workers/format.ts isLowCoverage): a wafer with readings for fewer than half of the
# sensors the model uses is not scored, and says so.
LOW_COVERAGE_SHARE = 0.5


def score_frame(frame: pd.DataFrame, scorer: Scorer, columns: ColumnMap, threshold: float) -> pd.DataFrame:
    x = readings_matrix(frame, columns, len(scorer.bundle.features))
    p = scorer.probabilities(x) if len(frame) > 0 else np.zeros(0, dtype=np.float32)
    used = scorer.used_features
    readings = (~np.isnan(x[:, used])).sum(axis=1)
    low = readings < LOW_COVERAGE_SHARE * len(used)
    # In double precision, as the page compares (numpy would compare a float32 array in float32).
    prediction = np.where(p.astype(np.float64) >= threshold, "Fault", "OK").astype(object)
    prediction[low] = [
        f"Not scored: low coverage ({n} of {len(used)} model sensors read)" for n in readings[low]
    ]
    ids = (
        frame.iloc[:, columns.id_column].astype("string")
        if columns.id_column is not None
        else pd.Series([None] * len(frame), dtype="string")
    )
    return pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "fault_probability": np.where(low, np.nan, p).astype(np.float32),
            "prediction": prediction.astype(str),
        }
    )
