#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) and activate it.
# Sourced by scripts/main.sh and scripts/test.sh; re-installs only when pyproject.toml or
# constraints.txt changed since the last install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
py="${PYTHON:-python3.11}"
command -v "$py" >/dev/null 2>&1 || py=python3
if [ ! -x "$venv/bin/python" ]; then
    echo "[env] creating $venv" >&2
    "$py" -m venv "$venv"
fi
stamp="$venv/.infogauss-stamp"
want="$(cat "$root/pyproject.toml" "$root/constraints.txt" "$root/scripts/env.sh" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "[env] installing infogauss and its dependencies (about 2 minutes the first time)" >&2
    log="$venv/install.log"
    if ! { "$venv/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
           "$venv/bin/python" -m pip install --disable-pip-version-check -c "$root/constraints.txt" \
               -e "$root[dev,text]"; } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "[env] installation failed; full log: $log" >&2
        exit 1
    fi
    echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
export VIRTUAL_ENV="$venv"
