"""Provenance of a training run: the commit it ran from and the package versions."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

VERSION_PACKAGES = [
    "numpy",
    "pandas",
    "scikit-learn",
    "imbalanced-learn",
    "xgboost-cpu",
    "onnx",
    "onnxmltools",
    "skl2onnx",
    "onnxruntime",
]


def git_commit(repo: Path) -> str:
    """`git rev-parse HEAD`, suffixed "+dirty" when `git status --porcelain -- training` shows
    uncommitted changes of the training code (the run's code is then not exactly that commit)."""
    try:
        res = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=False
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", "training"],
            cwd=repo,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "uncommitted"
    sha = res.stdout.strip()
    if res.returncode != 0 or len(sha) != 40:
        return "uncommitted"
    dirty = status.returncode != 0 or bool(status.stdout.strip())
    return sha + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    out = {"python": ".".join(str(v) for v in sys.version_info[:3])}
    for pkg in VERSION_PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
