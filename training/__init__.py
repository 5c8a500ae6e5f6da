"""Training pipeline for the SECOM sensor fault detection model (XGBoost -> ONNX)."""

import os

# fixed, small thread pools (2-core machine; reproducible runs)
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "2")
