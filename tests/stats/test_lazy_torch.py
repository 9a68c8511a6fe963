"""numpy inputs never import torch (the light core install has no torch)."""

import subprocess
import sys

SCRIPT = """
import sys
import numpy as np
import infogauss
from infogauss.stats import (anderson_darling, cauchy_combination, dagostino_pearson, epps_pulley, henze_zirkler,
                             mardia, maxwell_poincare, uniformity_potential)
x = np.random.default_rng(0).standard_normal((300, 12))
rep = infogauss.gaussianity_report(x, null_reps=200)
anderson_darling(x), dagostino_pearson(x), epps_pulley(x), cauchy_combination([0.1, 0.2])
henze_zirkler(x[:, :3]), mardia(x[:, :3]), maxwell_poincare(x), uniformity_potential(x, 10.0)
print("torch" in sys.modules)
"""


def test_numpy_report_and_stats_do_not_import_torch():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
