"""Shared data for the univariate-test test files: varied samples, R references, a binomial interval."""

import json
import math
from pathlib import Path

import numpy as np
import scipy.stats

R_REFERENCE = json.loads((Path(__file__).parent / "reference_r_univariate.json").read_text())["cases"]


def varied_samples(rng):
    """(name, 2-D array with samples on axis 0) covering small n, heavy tails, ties and a huge offset."""
    return [
        ("normal_n8", rng.normal(size=(8, 40))),
        ("normal_n20", rng.normal(size=(20, 40))),
        ("normal_n5000", rng.normal(size=(5000, 6))),
        ("student_t2_n500", rng.standard_t(2, size=(500, 10))),
        ("cauchy_n500", rng.standard_cauchy(size=(500, 10))),
        ("rounded_ties_n300", np.round(rng.normal(size=(300, 10)), 1)),
        ("scaled_shifted_n100", 0.02 * rng.normal(size=(100, 10)) - 300.0),
    ]


def offset_sample(rng, n=2000, cols=4, offset=1e8):
    """``offset + e`` with ``e`` on a 2^-10 grid, so ``x - offset == e`` exactly: a column far from zero whose
    well-conditioned twin ``e`` is known. Returns (x, e)."""
    e = np.round(rng.normal(size=(n, cols)) * 1024) / 1024
    x = offset + e
    assert np.array_equal(x - offset, e)
    return x, e


def binomial_99(p, m):
    """Two-sided 99% interval of the rejection fraction of m independent tests at level p."""
    lo, hi = scipy.stats.binom.interval(0.99, m, p)
    return lo / m, hi / m


def rejection_ok(pvalues, alpha=0.05):
    """(fraction rejected, interval, inside?) for p-values of independent tests under the null."""
    pv = np.asarray(pvalues).ravel()
    frac = float(np.mean(pv < alpha))
    lo, hi = binomial_99(alpha, pv.size)
    return frac, (lo, hi), lo <= frac <= hi


def non_normal_samples(rng, n=5000, cols=4):
    return {
        "laplace": rng.laplace(size=(n, cols)),
        "uniform": rng.uniform(size=(n, cols)),
        "bimodal": rng.normal(size=(n, cols)) + 2.5 * np.sign(rng.uniform(-1, 1, size=(n, cols))),
    }


assert math.isclose(binomial_99(0.05, 10000)[0], 0.0444, abs_tol=2e-3)
