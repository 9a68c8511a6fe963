"""The "How to read this" text of a report, written from its own numbers (:func:`reading_points`).

Each point is one Markdown-inline string (``**bold**``, ```code```), used as-is by the Markdown report and converted
by :mod:`infogauss.report.html`. What it says depends on the verdict: which views failed, whether the paper's
mean-based rule agrees with the calibrated check, whether the departure sits in the axes or in every direction, and
which reference applies to the normalised coordinates (the sphere's Beta law, not the Gaussian).
"""

from __future__ import annotations

import math

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DP_ALPHA, REPORT_ALPHA

#: Rows whose norms vary less than this (CV) were already L2-normalised before the report.
NORMALISED_INPUT_CV = 1e-6


def views(rep) -> list[tuple[str, object]]:
    """The four tested views in report order: ``(name, block)``."""
    return [
        ("raw coordinates", rep.raw),
        ("raw projections", rep.raw.projections),
        ("normalized coordinates", rep.normalized),
        ("normalized projections", rep.normalized.projections),
    ]


def failed_views(rep) -> list[str]:
    """Names of the views whose calibrated check fails (p <= the calibrated α)."""
    return [name for name, b in views(rep) if b.tested and not b.calibrated_verdict]


def pfmt(p) -> str:
    return "nan" if p is None or p != p else f"{p:.3g}"


def reading_points(rep) -> list[str]:
    """The bullet points of "How to read this" for ``rep`` (a :class:`~infogauss.report.GaussianityReport`)."""
    points = [_verdict_point(rep), _paper_rule_point(rep), _projection_point(rep), _normalised_point(rep)]
    if rep.raw.cv == rep.raw.cv and rep.raw.cv < NORMALISED_INPUT_CV:
        points.append(
            f"The raw rows already have unit norm (CV = {rep.raw.cv:.2g}): the input was L2-normalised (`infogauss "
            "embed` normalises by default), so the raw and normalised views are the same data and the thin-shell CV "
            "says nothing. Embed with `--no-normalize` to test the raw features."
        )
    points.append(
        f"These are tests: with n = {rep.n} rows they detect small departures, and most real embeddings fail them at "
        "large n. The pass fractions' null intervals are for reading (exact for independent coordinates, too narrow "
        "for dependent ones); the verdict is the calibrated p-value."
    )
    return [p for p in points if p]


def _verdict_point(rep) -> str:
    failed = failed_views(rep)
    v = rep.verdict
    if v is None:
        ok = bool(rep.raw.calibrated_verdict)
        return f"**{'Consistent with a Gaussian' if ok else 'Not Gaussian'}** on the raw coordinates (calibrated p = " \
               f"{pfmt(rep.raw.calibrated_pvalue)}, level {CALIBRATED_ALPHA})."  # fmt: skip
    how = "Monte-Carlo" if v.method == "monte-carlo" else "Bonferroni"
    if v.gaussian:
        return (
            f"**Consistent with a Gaussian**: no view departs from a Gaussian sample of the same (n, d) at level "
            f"{REPORT_ALPHA} (whole-report p = {pfmt(v.pvalue)}, {how} over the four views). A pass says the test "
            "found no departure it can see at this n, not that the law is exactly Gaussian."
        )
    bad = ", ".join(f"{name} (p = {pfmt(v.views.get(name))})" for name in failed)
    good = [name for name, b in views(rep) if b.tested and name not in failed]
    text = f"**Not Gaussian** (whole-report p = {pfmt(v.pvalue)} <= {REPORT_ALPHA}, {how} over the four views). "
    if failed:
        text += f"Failed their calibrated check (p <= {CALIBRATED_ALPHA}): {bad}."
        text += f" Passed: {', '.join(good)}." if good else " Every view failed."
    else:
        text += (f"No single view fails at {CALIBRATED_ALPHA}, but the smallest of the four p-values is too small "
                 "for four views taken together.")  # fmt: skip
    return text


def _paper_rule_point(rep) -> str:
    r = rep.raw
    rule = f"the paper's rule (mean A² < {AD_THRESHOLD} and mean DP p > {DP_ALPHA}; Tables 1-2)"
    paper, calib = bool(r.paper_verdict), bool(r.calibrated_verdict)
    if paper == calib:
        return f"On the raw coordinates {rule} agrees with the calibrated check: {'✓' if paper else '✗'}."
    lo, hi = r.ad_pass_interval
    frac = f"{100 * r.ad_pass_fraction:.1f}% of coordinates pass AD"
    if paper:
        why = (
            f"{frac}, below the {100 * lo:.1f}-{100 * hi:.1f}% that independent Gaussian coordinates give"
            if lo == lo and r.ad_pass_fraction < lo
            else f"a few coordinates are clearly non-Gaussian ({frac}; the calibrated check follows the smallest "
            "p-values)"
        )
        return (
            f"On the raw coordinates {rule} says ✓ but the calibrated check says ✗: the rule looks at averages, "
            f"which a sample satisfies while too many coordinates fail; here {why}."
        )
    return (
        f"On the raw coordinates {rule} says ✗ but the calibrated check says ✓ (mean A² {r.ad_mean:.3g}, mean DP p "
        f"{r.dp_mean_p:.3g}): no more coordinates fail than in a Gaussian sample of this size; the calibrated check's "
        "false-alarm rate is its level, the rule's is not controlled."
    )


def _projection_point(rep) -> str:
    failed = set(failed_views(rep))
    theory = ("Projections are random orthonormal directions, which is what the theory (Maxwell-Poincaré, "
              "Lemma 3) is about; coordinates are what the paper tests.")  # fmt: skip
    if not rep.raw.projections.tested:
        return "No random projections were tested (projections=0)."
    if "raw coordinates" in failed and "raw projections" not in failed:
        return (
            theory + " Here the coordinates fail and the projections pass: the departure sits in the axes "
            "(heavy or light tails, sparse or dead features) and averages out in generic directions (CLT)."
        )
    if "raw projections" in failed and "raw coordinates" not in failed:
        return (
            theory + " Here the projections fail and the coordinates pass: each coordinate looks Gaussian but "
            "their joint law is not (e.g. a mixture, or a dependence between coordinates)."
        )
    return theory


def _normalised_point(rep) -> str:
    d = rep.d - len(rep.dead_coordinates)
    ref = (
        "Which reference applies: raw coordinates are compared with a Gaussian. For L2-normalised rows the exact "
        "reference is the sphere's: a coordinate t of a point uniform on S^(d-1) has (t+1)/2 ~ "
        f"Beta((d-1)/2, (d-1)/2) (here d = {d}: excess kurtosis -6/(d+2) = {-6 / (d + 2):.2g}), close to a "
        "Gaussian but not equal to it."
    )
    nrm, raw = rep.normalized, rep.raw
    normalised_fails = not nrm.calibrated_verdict or not nrm.paper_verdict
    if not (normalised_fails and raw.calibrated_verdict):
        return ref
    limit = d * d / 4
    if nrm.calibrated_null == "monte-carlo" and nrm.calibrated_verdict:
        why = (
            f" Here the paper's rule fails the normalised coordinates while the raw ones pass: the rule compares them "
            f"with a Gaussian (A² < {AD_THRESHOLD}), which an exact Gaussian's normalised coordinates fail once n is "
            "large (they are Beta, and the test is right); the calibrated check, simulated on the sphere, passes."
        )
    elif nrm.calibrated_null == "monte-carlo":
        why = (
            " Here the normalised views fail while the raw coordinates pass, although their check is simulated on "
            "the sphere: the directions are not uniform (an anisotropic covariance or a non-zero mean), which "
            "Gaussian raw coordinates do not rule out."
        )
    else:
        big = "" if math.isnan(limit) or rep.n < limit else f" (here n = {rep.n} >= d²/4 = {limit:.0f})"
        why = (
            " Here the normalised views fail while the raw coordinates pass. Their check compared them with a "
            f"Gaussian (Bonferroni, no simulated null at this size), which is fine only while n < d²/4{big}; at "
            "n ≳ 10⁶ an exact Gaussian's normalised coordinates fail this Gaussian test, correctly: they are Beta."
        )
    why += (
        " (The table's AD null 99% intervals for normalised rows are the sphere's own; the DP intervals are "
        "those of Gaussian coordinates.)"
    )
    return ref + why + _sphere_tests(rep)


def _sphere_tests(rep) -> str:
    """Where to test normalised rows against the sphere's own law."""
    mp = (rep.geometry or {}).get("maxwell_poincare")
    where = "; its p-value is the Maxwell-Poincaré row under Geometry" if mp and "pvalue" in mp else ""
    text = (
        " Test the normalised rows against the sphere instead: the projection test "
        f"`infogauss.stats.maxwell_poincare(Z)` (its moment check of √d-scaled projections is exact at every d{where})"
    )
    if rep.normalized.calibrated_null != "monte-carlo":
        text += ", or `gaussianity_report(Z, view_null='monte-carlo')`, which simulates the sphere's own null"
    return text + "."
