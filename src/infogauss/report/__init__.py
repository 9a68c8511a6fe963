"""The paper's Gaussianity protocol on an embedding matrix, plus a calibrated verdict: :func:`gaussianity_report`.

**The paper's protocol** (Betser et al., ICLR 2026, §5 "Metrics", Eq. 20, Tables 1-2), on the raw embeddings and on
their L2-normalised rows:

- thin shell: ``CV = std_i ||z_i|| / mean_i ||z_i||`` (Eq. 20; ~0 by construction on normalised rows);
- each coordinate j is tested on its own: Anderson-Darling ``A²_j`` ("pass" when ``A² < 0.752``) and the
  D'Agostino-Pearson omnibus test ("pass" when ``p > 0.05``);
- reported: the mean ``A²`` and the fraction of passing coordinates, the mean DP p-value and the fraction of
  passing coordinates; ``paper_verdict = ad_mean < 0.752 and dp_mean_p > 0.05`` (our reading of the ✓/✗ column:
  the paper gives no rule). The thresholds are :data:`~infogauss.constants.AD_THRESHOLD` and
  :data:`~infogauss.constants.DP_ALPHA`.

The same four numbers are given on ``K`` random orthonormal directions (``projections``; default
``K = min(d, 256)``): the theory (Maxwell-Poincaré, paper Lemma 3) is about projections, the paper tests
coordinates.

**What the paper lacks, added here.** A pass fraction means nothing without its null: on a true Gaussian sample a
5% test passes ~95% of coordinates, give or take a binomial spread that shrinks with the number of coordinates.

- ``null_ad_pass_rate`` / ``null_dp_pass_rate``: the pass rates of the *same* tests on ``reps`` (default 2000)
  simulated N(0, 1) columns of the same n (n capped at :data:`NULL_MAX_N`; the finite-n correction of both tests is
  O(1/n), negligible there). Cached per process (:func:`null_calibration`).
- ``ad_pass_interval`` / ``dp_pass_interval``: a 99% interval for the pass fraction of ``m`` *independent* Gaussian
  coordinates (for the AD pass fraction of L2-normalised rows: of coordinates of rows uniform on the sphere,
  :func:`sphere_passes`, the law the calibrated check uses): the beta-binomial predictive law
  ``BetaBinom(m, s + 1/2, reps - s + 1/2)`` (``s`` simulated passes;
  a Jeffreys posterior for the null pass rate, so the simulation's own error is included), 0.5% and 99.5%
  quantiles divided by ``m``. **Dependence widens it**: coordinates of a Gaussian with a non-diagonal covariance
  are each exactly N(μ_j, σ_j²) (so the *expected* pass fraction is unchanged) but their pass events are positively
  correlated, so the pass fraction varies more than the interval says. The interval is exact for whitened or
  independent coordinates and optimistic (too narrow) otherwise; treat a fraction just outside it as a hint.
- ``combined_pvalue``: the Cauchy combination (Liu & Xie 2020, JASA 115:393;
  ``infogauss.stats.cauchy_combination``) of all per-coordinate AD and DP p-values; ``ad_combined_pvalue`` /
  ``dp_combined_pvalue`` combine one test's p-values. Descriptive: DP's far tail is liberal at small and moderate n
  (P(p < 1e-4) is 13× nominal at n = 50), and the combination follows the smallest p-values.
- ``calibrated_pvalue`` / ``calibrated_verdict`` (per view: raw / normalised × coordinates / projections): one test
  whose false-alarm rate is its level. Its statistic is ``q = min(c, f)``: ``c`` the Cauchy combination of the
  view's per-column AD p-values only (AD's p-values are uniform under the null down to the far tail; adding DP's
  made the old verdict fail 4-5% of Gaussian samples at the 1% level), which sees a few clearly non-Gaussian
  columns, and ``f`` the beta-binomial lower-tail p-value of the AD pass count (the interval's law), which sees many
  slightly non-Gaussian ones. The null law of ``(q, c)`` (ordered by q, ties broken by c) is simulated at the
  sample's own (n, d): ``R`` = 999 (or 199; :data:`SPHERE_REPS` within :data:`SPHERE_BUDGET`) samples of n rows
  N(0, I_d), tested exactly as the data — coordinates, projections onto the same directions, and both again after
  normalising the rows (then uniform on the sphere, the InfoNCE optimum) — cached per (n, d, directions), and
  ``calibrated_pvalue = (1 + #{simulated <= observed}) / (R + 1)``, a Monte-Carlo test whose level is exact
  (Barnard 1963). For the normalised views the pass count's null rate is the sphere's own (:func:`sphere_passes`).
  This is needed for the normalised views: their coordinates are only approximately Gaussian (excess kurtosis
  -6/(d+2)), which AD sees at small d or large n (at (5000, 16) the Cauchy combination alone rejects 100% of
  normalised Gaussian samples, at (8, 2) 5% at the 1% level). The simulated null is that of *independent*
  coordinates; coordinates of a Gaussian with a non-diagonal covariance are each exactly Gaussian but dependent,
  which the Cauchy part tolerates (asymptotically in the tail, see :func:`~infogauss.stats.cauchy_combination`) and
  the pass count does not (its spread widens). When the simulation does not fit the budget (``view_null="auto"``),
  or with ``view_null="bonferroni"``, ``calibrated_pvalue = min(1, 2q)``: conservative for the raw views, and for the
  normalised views fine while n < d²/4 (measured; a warning otherwise). ``calibrated_verdict = calibrated_pvalue >
  CALIBRATED_ALPHA`` (0.01; a Monte-Carlo test rejects at p <= α); ``calibrated_null`` says which null was used.
  The simulated null is seeded and cached, so the rate of one installation is the null's 1% quantile: exact on
  average over seeds, within about ±0.3 points of 1% for one seed with R = 999 (±0.7 with 199). The pass fractions'
  intervals above are for reading.
- ``verdict`` (the whole report, :class:`Verdict`): with the simulated null, the Monte-Carlo p-value of the views'
  smallest p-value against the same minimum over each simulated sample's own view p-values (their ranks; ties
  broken by the next smallest), so the whole report's level is exact too (``method="monte-carlo"``); otherwise
  ``min(1, 4 · min of the views' p-values)`` (Bonferroni, conservative). ``gaussian = pvalue > REPORT_ALPHA`` (0.01).
  Measured false-alarm rates on Gaussian samples: the README's calibration table (``tests/stats/_calibration.py``
  and ``tests/stats/test_calibration.py``). With n in the tens of thousands every real embedding fails these
  verdicts: they are tests, not similarity scores.

**Dead coordinates** (numerically constant columns: range 0, or at most ``1e-12`` × the column's own largest
|value|, i.e. rounding noise of a constant; each column is judged on its own, so columns on very different scales do
not make each other dead: ``infogauss.stats.validate.constant_columns(..., per_column=True)``) are reported
(``dead_coordinates``) and left out of all
coordinate tests; they stay in the norms and projections, where a constant adds nothing. Rows of zero norm cannot
be normalised: they raise :class:`~infogauss.errors.InputError`.

**Memory.** One code path serves in-memory arrays and memory-mapped ``.npy`` files larger than memory, so both give
the same numbers bit for bit: one pass over row blocks computes the row norms (and the finiteness check, the
dead-column check and a row subsample for geometry and Q-Q plots). Then each further pass over the rows stages as
many columns as fit in ``memory`` bytes (coordinates in the input's dtype; projections ``Z @ P``, computed one row
block at a time, in float64); the staged columns are tested ``block`` at a time: copied to float64, tested raw,
divided by the row norms in place and tested again. Memory is ``memory + O(n · block + rows_per_block · d)``, the
number of passes ``1 + ⌈n·live·itemsize/memory⌉ + ⌈8·n·K/memory⌉`` (one of each when the columns fit).
Rows, tested columns and the geometry subsample are rescaled by powers of two before any sum of squares (exact:
every statistic is scale invariant), so values from 1e-300 to 1e300 neither overflow nor underflow.

**Geometry extras** (on a seeded subsample of at most :data:`GEOMETRY_ROWS` rows, with the second view ``pairs`` for
alignment and positive-pair cosines): uniformity (Wang & Isola 2020), the uniformity potential Φ (paper Eq. 4) at the
run's own α = 1/τ (``temperature``, default :data:`~infogauss.constants.DEFAULT_TEMPERATURE`) beside
its value for the uniform law on the sphere, ``||m(μ)||`` (Prop. 1), cosine summaries, the covariance spectrum and
effective rank (Roy & Vetterli 2007), and a Maxwell-Poincaré entry (Lemma 3).

**Reading it.** ``rep.summary_table()`` (terminal), ``rep.to_markdown(figures)`` (links the PNGs named),
``rep.to_html()`` (one self-contained page: inline CSS, figures as data URIs; :mod:`infogauss.report.html`), the
notebook display ``rep._repr_html_()`` and ``rep.to_dataframe()`` (pandas; one row per view). Their "How to read
this" text (:mod:`infogauss.report.reading`) is written from the report's own verdict: which views failed, whether
the paper's rule agrees, and which reference applies to the normalised coordinates (the sphere's Beta law).

Example::

    >>> import numpy as np, infogauss
    >>> Z = np.random.default_rng(0).normal(size=(2000, 64))
    >>> rep = infogauss.gaussianity_report(Z)
    >>> rep.raw.paper_verdict, rep.raw.calibrated_verdict, rep.verdict.gaussian  # doctest: +SKIP
    (True, True, True)
    >>> print(rep.summary_table())  # doctest: +SKIP
"""

from infogauss.constants import AD_THRESHOLD, CALIBRATED_ALPHA, DEFAULT_TEMPERATURE, DP_ALPHA, NULL_SEED, REPORT_ALPHA
from infogauss.report.compute import GEOMETRY_ROWS, ROW_BYTES, STAGE_BYTES, gaussianity_report
from infogauss.report.extras import PAIRWISE_ROWS, phi_uniform
from infogauss.report.null import (
    NULL_MAX_N,
    NULL_REPS,
    SPHERE_BUDGET,
    SPHERE_REPS,
    TEST_BYTES,
    NullCalibration,
    null_calibration,
    pass_interval,
    sphere_passes,
    view_null,
    view_null_reps,
)
from infogauss.report.results import GaussianityReport, ProjectionBlock, TestBlock, Verdict, ViewSummary

PHI_ALPHA = 1.0 / DEFAULT_TEMPERATURE  # old name: Φ's α at the default τ (the report now uses 1/temperature)

__all__ = [
    "AD_THRESHOLD",
    "CALIBRATED_ALPHA",
    "DEFAULT_TEMPERATURE",
    "DP_ALPHA",
    "GEOMETRY_ROWS",
    "GaussianityReport",
    "NULL_MAX_N",
    "NULL_REPS",
    "NULL_SEED",
    "NullCalibration",
    "PAIRWISE_ROWS",
    "PHI_ALPHA",
    "ProjectionBlock",
    "REPORT_ALPHA",
    "ROW_BYTES",
    "SPHERE_BUDGET",
    "SPHERE_REPS",
    "STAGE_BYTES",
    "TEST_BYTES",
    "TestBlock",
    "Verdict",
    "ViewSummary",
    "gaussianity_report",
    "null_calibration",
    "pass_interval",
    "phi_uniform",
    "sphere_passes",
    "view_null",
    "view_null_reps",
]
