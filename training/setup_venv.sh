#!/usr/bin/env bash
# Idempotent: create training/.venv if missing and (re)install training/requirements.txt and
# requirements-spark.txt only when they changed (sha256 stamp stored inside the venv). Quiet on the happy path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
req="$here/requirements.txt"
spark_req="$here/requirements-spark.txt"
stamp="$venv/.requirements.sha256"

if [ ! -x "$venv/bin/python" ]; then
  echo "training: creating $venv" >&2
  python3 -m venv "$venv"
fi
want="$(cat "$req" "$spark_req" | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$want" != "$have" ]; then
  echo "training: installing $req and $spark_req" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req" -r "$spark_req"
  echo "$want" > "$stamp"
fi
