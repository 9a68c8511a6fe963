#!/usr/bin/env bash
# Headless-Chromium screenshots of the HTML reports, to look at them as a reader would.
#
#   scripts/screenshots.sh OUTDIR [WIDTH] [HEIGHT]
#
# Builds (in OUTDIR/work/, a few minutes on 2 cores):
#   - `infogauss analyze` report.html of two small generated .npy files: Student-t coordinates (the calibrated verdict
#     says not Gaussian) and an exact Gaussian in d = 4 with n = 5000 (raw passes, the normalised coordinates fail:
#     the sphere's Beta law), and of the demo's `sphere` set (Gaussian), plus the demo's summary page;
#   - the index.html of `infogauss reproduce table1-synthetic --scale smoke` (its table beside the paper's numbers;
#     another experiment: EXPERIMENT=NAME, e.g. EXPERIMENT=fig3);
# and writes one PNG per page to OUTDIR (analyze_t.png, analyze_gauss_d4.png, demo_sphere.png, demo_index.png,
# <experiment>_index.png), each a WIDTH x HEIGHT (default 1200 x 3000) window. Nothing is committed; OUTDIR is yours.
#
# Needs `chromium` (Debian: apt-get install -y chromium); the script says so and stops when it is missing.
# Set INFOGAUSS=/path/to/infogauss to use another executable (default: the one on PATH, else .venv/bin/infogauss).
set -euo pipefail
if [[ $# -lt 1 ]]; then
  echo "usage: $0 OUTDIR [WIDTH] [HEIGHT]" >&2
  exit 2
fi
out="$(mkdir -p "$1" && cd "$1" && pwd)"
width="${2:-1200}"
height="${3:-3000}"
experiment="${EXPERIMENT:-table1-synthetic}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)"
if [[ -z "$browser" ]]; then
  echo "screenshots.sh: no chromium on PATH; install it (Debian: apt-get install -y chromium)" >&2
  exit 1
fi
ig="${INFOGAUSS:-$(command -v infogauss || echo "$root/.venv/bin/infogauss")}"
py="$(dirname "$ig")/python"
[[ -x "$py" ]] || py=python3
work="$out/work"
mkdir -p "$work"

"$py" -c "import numpy as np; np.save('$work/t8.npy', np.random.default_rng(0).standard_t(8, size=(4000, 48)))"
"$py" -c "import numpy as np; np.save('$work/g4.npy', np.random.default_rng(1).normal(size=(5000, 4)))"
"$ig" analyze "$work/t8.npy" --out "$work/analyze_t" --quiet >/dev/null
"$ig" analyze "$work/g4.npy" --out "$work/analyze_gauss_d4" --quiet >/dev/null
"$ig" analyze --demo --out "$work/demo" --quiet >/dev/null
"$ig" reproduce "$experiment" --scale smoke --out "$work/$experiment" --quiet >/dev/null

shot() {  # shot PAGE PNG
  "$browser" --headless --disable-gpu --no-sandbox --hide-scrollbars --screenshot="$2" \
    --window-size="$width,$height" "file://$1" >/dev/null 2>&1
  [[ -s "$2" ]] || { echo "screenshots.sh: chromium wrote no $2" >&2; exit 1; }
  echo "$2"
}
shot "$work/analyze_t/report.html" "$out/analyze_t.png"
shot "$work/analyze_gauss_d4/report.html" "$out/analyze_gauss_d4.png"
shot "$work/demo/sphere/report.html" "$out/demo_sphere.png"
shot "$work/demo/report.html" "$out/demo_index.png"
shot "$work/$experiment/index.html" "$out/${experiment}_index.png"
