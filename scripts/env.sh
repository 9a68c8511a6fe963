#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv) and activate it.
# Sourced by scripts/main.sh, scripts/test.sh and scripts/gpu_check.sh; re-installs only when pyproject.toml,
# constraints.txt or this file changed since the last install.
#
# Default: `pip install -c constraints.txt -e .[all,dev]` from the package index (everything the tests need; about
# 3-4 minutes and 6 GB the first time, most of it torch's CUDA wheels).
# INFOGAUSS_SYSTEM_TORCH=1: offline, for a machine whose python3 already holds torch (a GPU image without network):
# nothing is installed; a .pth file puts src/ and that python's site-packages on the venv's path (seconds; no
# `infogauss` console script there: use `python -m infogauss.cli`); missing optional packages are listed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${INFOGAUSS_VENV:-$root/.venv}"
system_torch="${INFOGAUSS_SYSTEM_TORCH:-0}"
if [ "$system_torch" = 1 ]; then
    py="${PYTHON:-python3}"
else
    py="${PYTHON:-python3.11}"
    command -v "$py" >/dev/null 2>&1 || py=python3
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "[env] creating $venv" >&2
    if [ "$system_torch" = 1 ]; then
        "$py" -m venv --without-pip "$venv"
    else
        "$py" -m venv "$venv"
    fi
    if [ "$system_torch" = 1 ]; then
        # A .pth file puts the site-packages of "$py" on the venv's path: --system-site-packages would not do it when
        # "$py" is itself a venv's python (it exposes the base interpreter's packages, not that venv's).
        site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
        { echo "$root/src"
          "$py" -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))'
        } > "$site/_infogauss_system_packages.pth"
    fi
fi
stamp="$venv/.infogauss-stamp"
want="$(cat "$root/pyproject.toml" "$root/constraints.txt" "$root/scripts/env.sh" | sha256sum | cut -d' ' -f1)"
want="$want-system_torch=$system_torch"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    log="$venv/install.log"
    pip=("$venv/bin/python" -m pip install --disable-pip-version-check)
    if [ "$system_torch" = 1 ]; then
        echo "[env] offline: infogauss from $root/src over the packages of $py (no install)" >&2
        _infogauss_install() { "$venv/bin/python" -c "import infogauss"; }
    else
        echo "[env] installing infogauss and its dependencies (about 4 minutes the first time)" >&2
        _infogauss_install() { "${pip[@]}" --upgrade pip && "${pip[@]}" -c "$root/constraints.txt" -e "$root[all,dev]"; }
    fi
    if ! _infogauss_install >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        echo "[env] installation failed; full log: $log" >&2
        exit 1
    fi
    if [ "$system_torch" = 1 ]; then
        "$venv/bin/python" - >&2 <<'EOF' || true
import importlib.util as u
names = ["numpy", "scipy", "matplotlib", "tqdm", "sklearn", "torch", "torchvision", "timm", "pyarrow",
         "safetensors", "sentence_transformers", "dask", "distributed", "pytest", "xdist"]
missing = [n for n in names if u.find_spec(n) is None]
print("[env] system packages missing (their tests and commands will skip or fail):", ", ".join(missing) or "none")
EOF
    fi
    echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"
export VIRTUAL_ENV="$venv"
