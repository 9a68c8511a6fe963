#!/usr/bin/env bash
# The main job on its built-in default (sets up .venv first): reproduce the synthetic columns of the paper's
# Table 1 (Laplace, GMM, Binary E0/E50/E100) at cpu scale — a few minutes on 2 cores — and print our numbers beside
# the paper's. Results go to runs/table1-synthetic/. Extra arguments go to `infogauss reproduce`, e.g. --scale paper.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"
exec infogauss reproduce table1-synthetic --scale cpu --out runs/table1-synthetic "$@"
