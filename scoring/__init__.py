"""Batch scoring with the app's model bundle, the same rules as the browser: column mapping by name or alias,
readings as the page reads them, P(fail) from the same ONNX file. ``rules`` and ``frame`` need only numpy,
pandas and onnxruntime; ``spark_job`` runs them at fab scale on Apache Spark."""
