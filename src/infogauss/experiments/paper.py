"""The paper's published numbers, each with where it comes from in ``docs/paper-protocol.md``.

Nothing here is computed: these are the values printed in *InfoNCE Induces Gaussian Distribution* (Betser et al.,
ICLR 2026) as summarised in ``docs/paper-protocol.md`` §4.4, kept only so experiments can print them beside what we
measure.
Never tune anything toward them.

Keys follow :func:`infogauss.report.gaussianity_report`: ``cv``, ``ad_mean`` (mean Anderson–Darling A² over
coordinates; "AD Avg."), ``ad_pass_fraction`` (fraction with A² < 0.752; "AD Norm. Feat."), ``dp_mean_p`` (mean
D'Agostino–Pearson p-value; "DP Avg."), ``dp_pass_fraction`` (fraction with p > 0.05; "DP Norm. Feat."),
``paper_verdict`` ("Gaussian?"). Percentages are stored as fractions.
"""

from __future__ import annotations

SOURCE_TABLE1 = "docs/paper-protocol.md §4.4.1, Table 1 as printed (unnormalised embeddings)"


def _row(cv, ad_mean, ad_pass, dp_mean, dp_pass, verdict):
    return {
        "cv": cv,
        "ad_mean": ad_mean,
        "ad_pass_fraction": ad_pass,
        "dp_mean_p": dp_mean,
        "dp_pass_fraction": dp_pass,
        "paper_verdict": verdict,
    }


#: Table 1 (docs/paper-protocol.md §4.4.1). Laplace and GMM are "end of training" (150 and 100 epochs);
#: Binary E0/E50/E100 are evaluations at epochs 0/50/100 of one run. The (d, N) behind the Laplace column is
#: UNKNOWN (docs/paper-protocol.md §6.3).
TABLE1: dict[str, dict] = {
    "laplace": _row(0.08, 0.38, 1.00, 0.49, 1.00, True),
    "gmm": _row(0.08, 0.39, 1.00, 0.46, 1.00, True),
    "binary_e0": _row(0.36, 1.64, 0.30, 0.02, 0.15, False),
    "binary_e50": _row(0.12, 0.41, 0.93, 0.44, 0.89, True),
    "binary_e100": _row(0.09, 0.42, 0.97, 0.46, 0.98, True),
    "cifar10_rn18_supervised": _row(0.5, 3.3, 0.062, 0.041, 0.039, False),
    "cifar10_rn18_contrastive": _row(0.09, 0.43, 0.961, 0.39, 0.945, True),
}

#: What a perfect Gaussian gives under the same protocol (docs/paper-protocol.md §4.4.4, our note checked with scipy
#: 1.17.1,
#: 400 draws of i.i.d. N(0,1) columns). Useful to read the "100% pass" entries of Table 1: the nominal rate is 95%.
NULL_CALIBRATION: dict[int, dict] = {
    5000: {"ad_mean": 0.385, "ad_pass_fraction": 0.958, "dp_mean_p": 0.496, "dp_pass_fraction": 0.968},
    10000: {"ad_mean": 0.391, "ad_pass_fraction": 0.940, "dp_mean_p": 0.513, "dp_pass_fraction": 0.955},
}
SOURCE_NULL = "docs/paper-protocol.md §4.4.4, what an exact Gaussian gives"

#: Fig. 11 (docs/paper-protocol.md §4.4.3, Fig. 11): Pearson correlation between Laplace input
#: log-likelihood and Gaussian embedding log-likelihood. The figure prints 0.87, 0.86, 0.87 for A = 0.2, 0.5, 0.8;
#: "the exact pairing of values to A is uncertain".
FIG11_PEARSON: dict[float, float] = {0.2: 0.87, 0.5: 0.86, 0.8: 0.87}
SOURCE_FIG11 = "docs/paper-protocol.md §4.4.3, Fig. 11 (pairing of values to A uncertain)"

#: Project-page violin plot (= Fig. 2 style), read by eye (docs/paper-protocol.md §4.4.3): positive-pair cosine ≈
#: 0.95–0.97
#: for every d in {32, ..., 512}; negative-pair cosine centred at 0 with spread ≈ ±0.6 at d = 32 down to ≈ ±0.4 at
#: d = 512. Batch size UNKNOWN. The consistency flag in docs/paper-protocol.md §4.1 explains why ≈ 0.96 cannot hold
#: at A = 0.6.
FIG2_POSITIVE_COSINE = (0.95, 0.97)
FIG2_NEGATIVE_SPREAD = {32: 0.6, 512: 0.4}
SOURCE_FIG2 = "docs/paper-protocol.md §4.4.3, project-page violin plot (read off the plot, approximate)"

#: Project-page ``norm_concentration.png`` (d = 32): approximate mode of the norm histogram per batch size.
FIG3_NORM_MODE_D32: dict[int, float] = {8: 11.5, 32: 5.5, 64: 4.0, 128: 3.0}
SOURCE_FIG3 = "docs/paper-protocol.md §4.4.3, project-page norm_concentration.png (read off the plot, approximate)"

#: Table 2 (docs/paper-protocol.md §4.4.2), "Unnormalized / Normalized" pairs, pass rates as fractions. For later
#: experiments.
#: One row per model and data set: AD avg, AD pass, DP avg p, DP pass (each unnormalised, normalised), Gaussian?
_TABLE2_ROWS = (
    ("resnet34_mscoco", (10.01, 9.638), (0.0, 0.0), (2.2e-6, 3.2e-6), (0.0, 0.0), False),
    ("densenet_mscoco", (2.982, 2.8538), (0.422, 0.416), (0.1550, 0.1442), (0.493, 0.490), False),
    ("dino_mscoco", (0.44, 0.44), (0.970, 0.971), (0.45, 0.45), (0.992, 0.993), True),
    ("clip_image_mscoco", (0.47, 0.49), (0.968, 0.960), (0.42, 0.39), (0.996, 0.994), True),
    ("clip_text_mscoco", (0.53, 0.54), (0.940, 0.936), (0.38, 0.38), (0.994, 0.997), True),
    ("clip_image_inr_sketch", (0.4, 0.4), (0.948, 0.947), (0.44, 0.42), (0.933, 0.932), True),
    ("clip_image_inr_painting", (0.41, 0.42), (0.953, 0.951), (0.43, 0.4), (0.942, 0.939), True),
)
TABLE2: dict[str, dict] = {
    name: {
        "ad_mean": ad,
        "ad_pass_fraction": ad_pass,
        "dp_mean_p": dp,
        "dp_pass_fraction": dp_pass,
        "paper_verdict": verdict,
    }  # fmt: skip
    for name, ad, ad_pass, dp, dp_pass, verdict in _TABLE2_ROWS
}
SOURCE_TABLE2 = "docs/paper-protocol.md §4.4.2, Table 2 (Unnormalized / Normalized)"

#: Fig. 6 CVs of pretrained models; the mapping to models is inferred from panel order (docs/paper-protocol.md §4.4.3).
FIG6_CV: dict[str, float] = {
    "densenet": 0.115,
    "resnet34": 0.118,
    "clip_text": 0.055,
    "clip_image": 0.054,
    "dino": 0.034,
}
SOURCE_FIG6 = "docs/paper-protocol.md §4.4.3, Fig. 6 (model mapping inferred from panel order)"

#: Fig. 4 (docs/paper-protocol.md §4.4.3, values read off the poster and cifar_epochs_100.jpg; approximate,
#: presumably the
#: two-layer MLP on CIFAR-10): test-set CV and mean AD statistic at the epochs where they can be read. The CV's
#: "first evaluation" is taken to be epoch 10 (the x-axis runs 10-100). The DP-fraction curve is UNKNOWN (only
#: "increases monotonically").
FIG4_CV: dict[int, float] = {10: 0.21, 40: 0.20, 60: 0.18, 80: 0.165, 100: 0.157}
FIG4_AD_MEAN: dict[int, float] = {10: 0.81, 20: 0.84, 30: 0.74, 40: 0.70, 50: 0.63, 60: 0.66, 70: 0.60, 100: 0.57}
SOURCE_FIG4 = "docs/paper-protocol.md §4.4.3, values read off the poster and cifar_epochs_100.jpg (approximate)"
