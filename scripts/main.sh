#!/usr/bin/env bash
# The main job on its built-in default (sets up .venv first): analyse generated embeddings with the
# paper's Gaussianity protocol and write the report to runs/demo/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/env.sh"
cd "$root"
exec infogauss analyze --demo --out runs/demo "$@"
