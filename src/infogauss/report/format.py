"""Text forms of a :class:`~infogauss.report.GaussianityReport`: the terminal table and the Markdown report."""

from __future__ import annotations

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DP_ALPHA


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
        how = "Monte-Carlo" if v.method == "monte-carlo" else "Bonferroni"
        lines.append(f"whole report ({how} over the views, level {v.alpha}): p = {_pval(v.pvalue, 0).strip()}, "
                     f"calibrated Gaussian: {_yes(v.gaussian)}")  # fmt: skip
    return "\n".join(lines)


#: What each figure of :func:`infogauss.plots.figures` shows (file name -> caption).
FIGURE_CAPTIONS = {
    "qq.png": "Normal Q-Q plots of the best, median and worst raw coordinate and projection (by A²), standardised; "
    "a Gaussian column lies on the diagonal.",
    "ad_statistics.png": "Per-coordinate Anderson-Darling A² (log scale), raw and normalised rows, beside the "
    f"simulated Gaussian null and the paper's pass threshold {AD_THRESHOLD}.",
    "dp_pvalues.png": "Per-coordinate D'Agostino-Pearson p-values, raw and normalised rows (Uniform(0, 1) for "
    f"Gaussian coordinates; pass when p > {DP_ALPHA}).",
    "norms.png": "Row norms ‖z‖ of the raw embeddings: the thin shell (CV, paper Eq. 20).",
    "spectrum.png": "Covariance spectrum of the raw embeddings (geometry subsample) against the isotropic level.",
    "cosines.png": "Cosine similarities of random (negative) pairs, and of positive pairs when a second view was "
    "given, beside the exact density of the cosine between two points uniform on the sphere.",
}


def figure_caption(name: str) -> str:
    """The caption of figure file ``name`` (its stem, spaced, when unknown)."""
    return FIGURE_CAPTIONS.get(name, name.rsplit(".", 1)[0].replace("_", " "))


def facts(rep) -> str:
    """One Markdown sentence: size, dtype, dead coordinates, projections and (when set) the row subsample."""
    text = (
        f"n = {rep.n} embeddings, d = {rep.d} coordinates ({rep.dtype}); "
        f"{len(rep.dead_coordinates)} dead (constant) coordinate(s) left out of the tests"
        + (f" (indices {_short_list(rep.dead_coordinates)})" if len(rep.dead_coordinates) else "")
        + f"; {rep.raw['projections']['k']} random orthonormal projections (seed {rep.settings['seed']})."
    )
    sub = subsample_note(rep)
    return text + (f" {sub}" if sub else "")


def subsample_note(rep) -> str:
    """``"Tested on a subsample of N of M rows, seed S."`` when the report says it was subsampled (``analyze
    --max-rows``: ``settings["subsample"]`` = ``{"rows", "of", "seed"}``, also read as ``n``/``total``), else ``""``."""
    sub = rep.settings.get("subsample") if isinstance(rep.settings, dict) else None
    if not sub:
        return ""
    if not isinstance(sub, dict):
        return f"Tested on a subsample: {sub}."
    rows = sub.get("rows", sub.get("n"))
    of = sub.get("of", sub.get("total", sub.get("source_rows")))
    seed = sub.get("seed")
    return f"Tested on a subsample of {rows} of {of} rows, seed {seed}."


def paper_table(rep) -> tuple[list[str], list[list[str]]]:
    """The paper's protocol (Tables 1-2) on the four views: header and rows of cell texts."""
    head = ["embeddings", "tested", "CV", f"AD avg (<{AD_THRESHOLD})", "AD pass %", f"DP avg p (>{DP_ALPHA})",
            "DP pass %", "Gaussian?"]  # fmt: skip
    rows = []
    for name, view in (("raw", rep.raw), ("normalized", rep.normalized)):
        for label, s in ((f"{name}, coordinates", view), (f"{name}, projections", view["projections"])):
            cv = f"{view['cv']:.4g}" if s is view else ""
            ad = [_fmt(s["ad_mean"]), _fmt_pct(s["ad_pass_fraction"])]
            dp = [_fmt(s["dp_mean_p"]), _fmt_pct(s["dp_pass_fraction"])]
            rows.append([label, str(s["tested"]), cv, *ad, *dp, _check(s["paper_verdict"])])
    return head, rows


def calibrated_table(rep) -> tuple[list[str], list[list[str]]]:
    """The calibrated checks: pass fractions beside their null 99% intervals, calibrated p and verdict."""
    head = [
        "embeddings",
        "AD pass %",
        "null 99%",
        "DP pass %",
        "null 99%",
        "calibrated p",
        "null",
        "calibrated verdict",
    ]
    rows = []
    for name, view in (("raw", rep.raw), ("normalized", rep.normalized)):
        for label, s in ((f"{name}, coordinates", view), (f"{name}, projections", view["projections"])):
            ad = [_fmt_pct(s["ad_pass_fraction"]), _interval(s["ad_pass_interval"])]
            dp = [_fmt_pct(s["dp_pass_fraction"]), _interval(s["dp_pass_interval"])]
            calib = [_fmt_p(s["calibrated_pvalue"]), s["calibrated_null"], _check(s["calibrated_verdict"])]
            rows.append([label, *ad, *dp, *calib])
    return head, rows


def calibration_note(rep) -> str:
    """How the null rates, intervals and calibrated p-values were obtained (Markdown)."""
    null = rep.null
    if null is None:
        return ""
    return (
        f"Null pass rates from {null.reps} simulated N(0,1) columns of n = {null.n}: "
        f"AD {_fmt_pct(null.ad_passes / null.reps)}%, DP {_fmt_pct(null.dp_passes / null.reps)}%. "
        "Intervals: 99% for the pass fraction of that many *independent* Gaussian coordinates (for the AD pass "
        "fraction of normalised rows: coordinates of rows uniform on the sphere; dependent coordinates spread "
        "wider); descriptive. Calibrated p: the smaller of the Cauchy combination of "
        "the view's per-column AD p-values and the AD pass count's p-value, against its null (`monte-carlo`: "
        "simulated at this (n, d), rows uniform on the sphere for the normalised views; `bonferroni`: twice the "
        f"smaller); the view is calibrated Gaussian when it is > {CALIBRATED_ALPHA}."
    )


def verdict_line(rep) -> str:
    """The whole report's verdict as one Markdown sentence ("" without a verdict)."""
    v = rep.verdict
    if v is None:
        return ""
    how = "Monte-Carlo p-value of the smallest of the" if v.method == "monte-carlo" else "Bonferroni over the"
    return (f"**Whole report**: p = {_fmt_p(v.pvalue)} ({how} {len(v.views)} views' calibrated p-values), "
            f"calibrated Gaussian at level {v.alpha}: {_check(v.gaussian)}.")  # fmt: skip


def to_markdown(rep, figures=()) -> str:
    """A readable Markdown report: the paper's table, the calibrated checks, geometry, how to read them and, for
    each file name in ``figures`` (PNGs in the same folder), a link with its caption."""
    from infogauss.report.reading import reading_points

    md = [f"# Gaussianity report: {rep.source}", "", facts(rep)]
    md += ["", "## The paper's protocol (Tables 1-2)", "", *_md_table(*paper_table(rep))]
    md += ["", "## Calibrated against a Gaussian sample of the same size", ""]
    if rep.null is not None:
        md += [calibration_note(rep), ""]
    md += _md_table(*calibrated_table(rep))
    if rep.verdict is not None:
        md += ["", verdict_line(rep)]
    md += ["", "How to read this:", *(f"- {p}" for p in reading_points(rep)), ""]
    if rep.geometry:
        md += ["## Geometry", "", *_md_table(["quantity", "value", "reference"], geometry_rows(rep.geometry)), ""]
    if figures:
        md += ["## Figures", ""]
        md += [f"![{f}]({f})  \n*{figure_caption(f)}*\n" for f in figures]
    md += ["## Settings", "", "```", *(f"{k}: {v}" for k, v in rep.settings.items()), "```", ""]
    return "\n".join(md)


def _md_table(head, rows) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows)]


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


def geometry_rows(g: dict):
    """(quantity, value, reference) text triples of the geometry extras."""

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
