"""A model bundle on disk: model.json and the ONNX file it names, checked by sha256 before use."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def onnx_graph(blob: bytes) -> Any:
    import onnx

    return onnx.load_from_string(blob).graph


class BundleError(ValueError):
    """The bundle cannot be used; the message says why, for the person running the job."""


@dataclass(frozen=True)
class Bundle:
    directory: Path
    model: dict[str, Any]
    onnx_bytes: bytes

    @property
    def features(self) -> list[str]:
        return list(self.model["features"])

    @property
    def threshold(self) -> float:
        return float(self.model["threshold"]["value"])

    @property
    def used_features(self) -> list[int]:
        """The sensors the model reads (feature indices, ascending), as the page reads them from the ONNX file
        (workers/engine/onnx-trees.ts): the columns its trees split on, or a linear model's Gather indices
        (all columns without one); the in-graph missing-reading count (the column after the sensors) is not a
        sensor. The coverage rule counts these."""
        from onnx import numpy_helper

        graph = onnx_graph(self.onnx_bytes)
        width = len(self.features)
        used: set[int] = set()
        ops = {node.op_type for node in graph.node}
        inits = {t.name: t for t in graph.initializer}
        for node in graph.node:
            if node.op_type.startswith("TreeEnsemble"):
                attrs = {a.name: a for a in node.attribute}
                ids = list(attrs["nodes_featureids"].ints)
                modes = list(attrs["nodes_modes"].strings)
                used.update(i for i, m in zip(ids, modes, strict=True) if m != b"LEAF")
        if not any(op.startswith("TreeEnsemble") for op in ops) and "LinearClassifier" in ops:
            gather = next((n for n in graph.node if n.op_type == "Gather"), None)
            if gather is not None and gather.input[1] in inits:
                used.update(int(i) for i in numpy_helper.to_array(inits[gather.input[1]]).ravel())
            else:
                used.update(range(width))
        if "IsNaN" in ops:
            used.discard(width)
        if not used:
            raise BundleError(
                "The model file has no tree ensemble or linear model, so the sensors it uses are unknown."
            )
        return sorted(used)

    @property
    def read_features(self) -> list[int]:
        """The sensors a scorer must read: the used ones, or every sensor when the graph counts missing
        readings (IsNaN) — that count sees every column."""
        if any(n.op_type == "IsNaN" for n in onnx_graph(self.onnx_bytes).node):
            return list(range(len(self.features)))
        return self.used_features

    @property
    def input_name(self) -> str:
        return str(self.model["onnx"]["input"])

    @property
    def probability_output(self) -> str:
        return str(self.model["onnx"]["outputs"]["probability"])


def load_bundle(directory: str | Path) -> Bundle:
    root = Path(directory)
    json_path = root / "model.json"
    try:
        model = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"No model.json in {root}: pass the folder of a model bundle (e.g. public/models)."
        ) from None
    except json.JSONDecodeError as e:
        raise BundleError(f"{json_path} is not valid JSON: {e}") from None
    onnx_name = model.get("onnx", {}).get("file")
    if not isinstance(onnx_name, str) or not isinstance(model.get("features"), list):
        raise BundleError(f"{json_path} does not describe a model bundle (no onnx.file or features).")
    onnx_path = root / onnx_name
    try:
        blob = onnx_path.read_bytes()
    except FileNotFoundError:
        raise BundleError(f"The model file {onnx_path} named by model.json is missing.") from None
    want = model["onnx"].get("sha256")
    have = hashlib.sha256(blob).hexdigest()
    if want != have:
        raise BundleError(
            f"The model file {onnx_path} does not match model.json: sha256 {have}, expected {want}."
        )
    return Bundle(root, model, blob)
