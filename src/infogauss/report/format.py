"""Text forms of a :class:`~infogauss.report.GaussianityReport`: the terminal table and the Markdown report."""

from __future__ import annotations

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DP_ALPHA, REPORT_ALPHA


def summary_table(rep) -> str:
    """A short fixed-width table for the terminal."""
    head = f"{'':24s}{'CV':>8s}{'AD mean':>9s}{'AD pass':>9s}{'null 99%':>14s}{'DP mean p':>11s}"
    head += f"{'DP pass':>9s}{'null 99%':>14s}{'calib. p':>10s}{'paper':>7s}{'calib.':>8s}"
    lines = [
        f"Gaussianity of {rep.source}: n={rep.n}, d={rep.d}, "
        f"{len(rep.dead_coordinates)} dead coordinate(s), {rep.raw['projections']['k']} random projections",
        head,
    ]
    for name, view in (("raw", rep.raw), ("normalized", rep.normalized)):
        for label, s in ((f"{name} coordinates", view), (f"{name} projections", view["projections"])):
            cv = f"{view['cv']:8.4f}" if s is view else f"{'':8s}"
            lines.append(
                f"{label:24s}{cv}{_num(s['ad_mean'], 9)}{_pct(s['ad_pass_fraction'], 9)}"
                f"{_interval(s['ad_pass_interval']):>14s}{_num(s['dp_mean_p'], 11)}{_pct(s['dp_pass_fraction'], 9)}"
                f"{_interval(s['dp_pass_interval']):>14s}{_pval(s['calibrated_pvalue'], 10)}"
                f"{_yes(s['paper_verdict']):>7s}{_yes(s['calibrated_verdict']):>8s}"
            )
    v = rep.verdict
    if v is not None:
        lines.append(f"whole report (Bonferroni over the views, level {v.alpha}): p = {_pval(v.pvalue, 0).strip()}, "
                     f"calibrated Gaussian: {_yes(v.gaussian)}")  # fmt: skip
    return "\n".join(lines)


def to_markdown(rep) -> str:
    """A readable Markdown report: the paper's table, the calibrated checks, geometry and how to read them."""
    md = [f"# Gaussianity report: {rep.source}", ""]
    md.append(
        f"n = {rep.n} embeddings, d = {rep.d} coordinates ({rep.dtype}); "
        f"{len(rep.dead_coordinates)} dead (constant) coordinate(s) left out of the tests"
        + (f" (indices {_short_list(rep.dead_coordinates)})" if len(rep.dead_coordinates) else "")
        + f"; {rep.raw['projections']['k']} random orthonormal projections (seed {rep.settings['seed']})."
    )
    md += ["", "## The paper's protocol (Tables 1-2)", ""]
    md.append(
        f"| embeddings | tested | CV | AD avg (<{AD_THRESHOLD}) | AD pass % | DP avg p (>{DP_ALPHA}) | DP pass % "
        "| Gaussian? |"
    )
    md.append("|---|---|---|---|---|---|---|---|")
    for name, view in (("raw", rep.raw), ("normalized", rep.normalized)):
        for label, s in ((f"{name}, coordinates", view), (f"{name}, projections", view["projections"])):
            cv = f"{view['cv']:.4g}" if s is view else ""
            md.append(
                f"| {label} | {s['tested']} | {cv} | {_fmt(s['ad_mean'])} | {_fmt_pct(s['ad_pass_fraction'])} | "
                f"{_fmt(s['dp_mean_p'])} | {_fmt_pct(s['dp_pass_fraction'])} | {_check(s['paper_verdict'])} |"
            )
    null = rep.null
    md += ["", "## Calibrated against a Gaussian sample of the same size", ""]
    if null is not None:
        md.append(
            f"Null pass rates from {null.reps} simulated N(0,1) columns of n = {null.n}: "
            f"AD {_fmt_pct(null.ad_passes / null.reps)}%, DP {_fmt_pct(null.dp_passes / null.reps)}%. "
            "Intervals: 99% for the pass fraction of that many *independent* Gaussian coordinates "
            "(dependent coordinates spread wider); descriptive. Calibrated p: Cauchy combination of the view's "
            "per-column AD p-values (for normalised rows, against its simulated null for rows uniform on the sphere); "
            f"the view is calibrated Gaussian when it is >= {CALIBRATED_ALPHA}."
        )
        md.append("")
    md.append("| embeddings | AD pass % | null 99% | DP pass % | null 99% | calibrated p | calibrated verdict |")
    md.append("|---|---|---|---|---|---|---|")
    for name, view in (("raw", rep.raw), ("normalized", rep.normalized)):
        for label, s in ((f"{name}, coordinates", view), (f"{name}, projections", view["projections"])):
            md.append(
                f"| {label} | {_fmt_pct(s['ad_pass_fraction'])} | {_interval(s['ad_pass_interval'])} | "
                f"{_fmt_pct(s['dp_pass_fraction'])} | {_interval(s['dp_pass_interval'])} | "
                f"{_fmt_p(s['calibrated_pvalue'])} | {_check(s['calibrated_verdict'])} |"
            )
    if rep.verdict is not None:
        v = rep.verdict
        md += ["", f"**Whole report**: p = {_fmt_p(v.pvalue)} (Bonferroni over the {len(v.views)} views' calibrated "
               f"p-values), calibrated Gaussian at level {v.alpha}: {_check(v.gaussian)}."]  # fmt: skip
    md += ["", _reading(rep), ""]
    if rep.geometry:
        md += ["## Geometry", "", "| quantity | value | reference |", "|---|---|---|"]
        md += [f"| {k} | {v} | {r} |" for k, v, r in _geometry_rows(rep.geometry)]
        md.append("")
    md += ["## Settings", "", "```", *(f"{k}: {v}" for k, v in rep.settings.items()), "```", ""]
    return "\n".join(md)


def _num(x, w):
    return f"{x:{w}.3f}" if x == x else f"{'nan':>{w}s}"


def _pct(x, w):
    return f"{100 * x:{w - 1}.1f}%" if x == x else f"{'nan':>{w}s}"


def _pval(p, w):
    return f"{p:{w}.2g}" if p == p else f"{'nan':>{w}s}"


def _interval(iv):
    lo, hi = iv
    return "—" if lo != lo else f"[{100 * lo:.1f}, {100 * hi:.1f}]"


def _yes(v):
    return "yes" if v else "no"


def _check(v):
    return "✓" if v else "✗"


def _fmt(x):
    return "nan" if x != x else f"{x:.4g}"


def _fmt_pct(x):
    return "nan" if x != x else f"{100 * x:.1f}"


def _fmt_p(p):
    return "nan" if p != p else f"{p:.3g}"


def _short_list(idx, k=10):
    s = ", ".join(str(int(i)) for i in idx[:k])
    return s + (", ..." if len(idx) > k else "")


def _reading(rep) -> str:
    r = rep.raw
    lines = ["How to read this:"]
    lines.append(
        f"- The paper's verdict on the raw coordinates is {_check(r['paper_verdict'])}: it only asks that the "
        f"average A² be under {AD_THRESHOLD} and the average DP p-value over {DP_ALPHA}, which a sample can "
        "satisfy while many coordinates fail."
    )
    lines.append(
        f"- The calibrated verdict is {_check(r['calibrated_verdict'])}: one test of all coordinates at once "
        f"(level {CALIBRATED_ALPHA}; a Gaussian sample fails it 1% of the time), and the whole report combines the "
        f"four views at level {REPORT_ALPHA}. The pass fractions' null intervals are for reading, not part of it. "
        "With large n, small departures from Gaussianity are detected, so a ✗ here can coexist with a ✓ from the "
        "paper's rule."
    )
    lines.append(
        "- Projections test random directions, which is what the theory (Maxwell-Poincaré) is about; "
        "coordinates are what the paper tests."
    )
    return "\n".join(lines)


def _geometry_rows(g: dict):
    def f(x):
        return "nan" if x is None or x != x else f"{x:.4g}"

    yield "rows used", f"{g['rows']} (pairwise: {g['pairwise_rows']})", "seeded subsamples"
    if "alignment" in g:
        yield "alignment E‖û−v̂‖² (Wang & Isola)", f(g["alignment"]), "0 for identical views"
    u = g["uniformity_t2"]
    yield "uniformity log E exp(−2‖û_i−û_j‖²)", f(u["value"]), f"{f(u['uniform_sphere'])} for uniform on the sphere"
    phi = g["uniformity_potential"]
    yield (
        f"Φ (α = 1/τ = {phi['alpha']:g}, Eq. 4)",
        f(phi["value"]),
        f"{f(phi['uniform_sphere'])} for uniform on the sphere",
    )
    m = g["mean_embedding_norm"]
    yield "‖m(μ)‖ (Prop. 1)", f(m["value"]), f"≈ {f(m['uniform_sphere'])} (1/√rows) for uniform"
    for kind in ("positive", "negative"):
        c = g["cosine"].get(kind)
        if c:
            yield (
                f"{kind}-pair cosine mean ± std",
                f"{f(c['mean'])} ± {f(c['std'])}",
                f"5/50/95%: {f(c['q05'])} / {f(c['q50'])} / {f(c['q95'])}",
            )
    iso = g["isotropy"]
    yield "effective rank (Roy & Vetterli)", f(iso["effective_rank"]), f"{f(iso['effective_rank_fraction'])} of max"
    yield "top eigenvalue / total variance", f(iso["top_eigenvalue_fraction"]), "1/d for isotropic"
    yield "top-10 eigenvalues / total", f(iso["top10_eigenvalue_fraction"]), "10/d for isotropic"
    mp = g.get("maxwell_poincare")
    if mp and "skipped" in mp:
        yield "Maxwell-Poincaré (Lemma 3)", "skipped", mp["skipped"]
    elif mp:
        yield (
            f"Maxwell-Poincaré p ({mp['subspaces']} random {mp['k']}-dim projections of √d·û)",
            f(mp["pvalue"]),
            f"Lemma 3; TV bound {f(mp['tv_bound'])} for uniform (Thm 2)",
        )
