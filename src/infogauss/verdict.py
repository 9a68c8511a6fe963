"""Did training *induce* Gaussian coordinates? One decision rule, on per-seed numbers before and after training.

:func:`induction_verdict` compares, seed by seed (paired: the same seed gives the same initialisation and data),
the average Anderson–Darling statistic of the untrained encoder (epoch 0) with the trained one, and with a control
trained on the same pairs by another objective (e.g. VICReg). A change counts only when it is beyond seed noise
(a two-sided paired t-test at 5% over seeds) *and* larger than :data:`AD_FLOOR`, which is about 4 standard deviations
of the AD average of an exactly Gaussian 5,000 × 256 embedding: with near-deterministic seeds a t-test alone would
call a 0.001 change "significant".

Verdicts (``code``):

- ``"induced"`` — not Gaussian before (majority of seeds), Gaussian after, AD fell beyond noise, and fell more than
  under the control (beyond noise), or there is no control;
- ``"not_specific"`` — as "induced" but the control objective did as well (not attributable to InfoNCE);
- ``"already_gaussian"`` — Gaussian before and after training: nothing to induce;
- ``"partly"`` — AD fell beyond noise but the embedding is not Gaussian after training;
- ``"less_gaussian"`` — AD rose beyond noise (training moved the embedding away from Gaussian);
- ``"lost"`` — Gaussian before, not after;
- ``"no_change"`` — none of the above (changes within seed noise).

"Gaussian" is whatever boolean the caller passes per seed: the paper's rule (AD avg < 0.752 and DP avg p > 0.05)
or the report's calibrated verdict — :func:`induction_verdict` is run once with each.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from infogauss.errors import InputError

__all__ = ["AD_FLOOR", "VERDICTS", "InductionVerdict", "induction_verdict", "paired_change"]

AD_FLOOR = 0.05
"""Smallest change of the AD average that counts. For an exact Gaussian the A² of one coordinate at n = 5,000 has
standard deviation ≈ 0.2, so the mean of 256 coordinates varies by ≈ 0.0125; 0.05 is four of those."""

VERDICTS = {
    "induced": "induced",
    "not_specific": "Gaussian after training, but the control objective does as well",
    "already_gaussian": "not induced: already Gaussian before training",
    "partly": "moved toward Gaussian, not reached",
    "less_gaussian": "not induced: training made it less Gaussian",
    "lost": "not induced: Gaussian before, not after",
    "no_change": "no change beyond seed noise",
}


@dataclass
class InductionVerdict:
    """Result of :func:`induction_verdict`; ``text`` is the human-readable verdict of ``code``."""

    code: str
    text: str
    delta_mean: float  # mean over seeds of AD(after) - AD(before)
    delta_std: float | None  # its sample std over seeds (None with one seed)
    delta_significant: bool
    control_delta_mean: float | None
    beats_control: bool | None
    gaussian_before: bool
    gaussian_after: bool
    seeds: int

    def to_dict(self) -> dict:
        return asdict(self)


def paired_change(a, b, alpha: float = 0.05, floor: float = AD_FLOOR) -> tuple[float, float | None, int]:
    """Mean and sample std of ``b - a`` over seeds, and its sign if beyond noise (+1 / -1), else 0.

    Beyond noise: ``|mean| > floor`` and, with two or more seeds, a two-sided paired t-test at ``alpha`` rejects a
    zero mean (with one seed only the floor applies; with a zero spread any mean above the floor counts).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or a.size == 0:
        raise InputError(f"paired values need equal 1-D shapes with at least one seed, got {a.shape} and {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise InputError("paired values must be finite")
    d = b - a
    mean = float(d.mean())
    std = float(d.std(ddof=1)) if d.size > 1 else None
    if abs(mean) <= floor:
        return mean, std, 0
    if d.size > 1 and std > 0:
        t = mean / (std / np.sqrt(d.size))
        if abs(t) <= stats.t.ppf(1 - alpha / 2, d.size - 1):
            return mean, std, 0
    return mean, std, int(np.sign(mean))


def induction_verdict(
    ad_before,
    ad_after,
    gaussian_before,
    gaussian_after,
    ad_control_after=None,
    alpha: float = 0.05,
    floor: float = AD_FLOOR,
) -> InductionVerdict:
    """The verdict on one row (see the module doc), from per-seed arrays of equal length.

    Args:
        ad_before, ad_after: AD average of the untrained and the trained encoder, one value per seed.
        gaussian_before, gaussian_after: per-seed booleans, "Gaussian" by the chosen rule.
        ad_control_after: AD average of the same encoder trained with the control objective (same seeds, same
            initialisation, same pairs), or None for no control.
        alpha, floor: level of the paired t-tests and the smallest AD change that counts.
    """
    gb, ga = np.asarray(gaussian_before, dtype=bool), np.asarray(gaussian_after, dtype=bool)
    n = len(np.atleast_1d(ad_before))
    if gb.shape != (n,) or ga.shape != (n,):
        raise InputError(f"gaussian_before/after need one boolean per seed ({n}), got {gb.shape} and {ga.shape}")
    g_before, g_after = bool(gb.sum() * 2 > n), bool(ga.sum() * 2 > n)
    mean, std, sign = paired_change(ad_before, ad_after, alpha, floor)
    c_mean, beats = None, None
    if ad_control_after is not None:
        c_mean = paired_change(ad_before, ad_control_after, alpha, floor)[0]
        beats = paired_change(ad_control_after, ad_after, alpha, floor)[2] < 0  # trained AD below the control's
    if g_before and g_after:
        code = "already_gaussian"
    elif g_before:
        code = "lost"
    elif sign < 0 and g_after:
        code = "induced" if beats in (None, True) else "not_specific"
    elif sign < 0:
        code = "partly"
    elif sign > 0:
        code = "less_gaussian"
    else:
        code = "no_change"
    return InductionVerdict(code, VERDICTS[code], mean, std, sign != 0, c_mean, beats, g_before, g_after, n)
