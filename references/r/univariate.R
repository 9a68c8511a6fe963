# Reference numbers for infogauss.stats.anderson_darling and dagostino_pearson, from R.
#
#   Rscript references/r/univariate.R > tests/stats/reference_r_univariate.json
#
# Draws deterministic samples (Mersenne-Twister, Inversion, seed 20260227), runs nortest::ad.test (A and its
# p-value) and fBasics::dagoTest (omnibus K^2 and p; it needs n >= 20) on each, and prints JSON with the samples
# themselves written losslessly ("%.17g"), so the tests never call R. Samples are chosen to reach every piece of
# ad.test's piecewise p-value (AA < 0.2, < 0.34, < 0.6, < 10, >= 10).
suppressPackageStartupMessages({
  library(nortest)
  library(fBasics)
})
RNGkind("Mersenne-Twister", "Inversion", "Rejection")
set.seed(20260227)

aa_of <- function(x) {
  n <- length(x)
  unname(ad.test(x)$statistic) * (1 + 0.75 / n + 2.25 / n^2)
}

# first N(0,1) sample of size n whose modified statistic AA lies in [lo, hi)
normal_with_aa <- function(n, lo, hi) {
  repeat {
    x <- rnorm(n)
    a <- aa_of(x)
    if (a >= lo && a < hi) return(x)
  }
}

cases <- list(
  normal_n8 = rnorm(8),
  normal_n20 = rnorm(20),
  normal_n100 = rnorm(100),
  normal_n1000 = rnorm(1000),
  normal_scores_n50 = qnorm(ppoints(50)),           # AA < 0.2
  normal_aa_0.2_0.34_n40 = normal_with_aa(40, 0.2, 0.34),
  normal_aa_0.34_0.6_n40 = normal_with_aa(40, 0.34, 0.6),
  t3_n200 = rt(200, 3),
  uniform_n100 = runif(100),
  exponential_n30 = rexp(30),
  lognormal_n500 = rlnorm(500),                     # AA >= 10
  laplace_n300 = rexp(300) * sample(c(-1, 1), 300, replace = TRUE),
  rounded_normal_n60 = round(rnorm(60), 1),         # ties
  offset_n40 = 1e6 + rnorm(40),
  bimodal_n400 = c(rnorm(200, -2), rnorm(200, 2))
)

num <- function(v) paste0("[", paste(sprintf("%.17g", v), collapse = ", "), "]")
scalar <- function(v) if (is.na(v)) "null" else sprintf("%.17g", v)

out <- character(0)
for (name in names(cases)) {
  x <- cases[[name]]
  ad <- ad.test(x)
  dp_stat <- NA
  dp_p <- NA
  if (length(x) >= 20) {
    dp <- dagoTest(x)@test
    dp_stat <- unname(dp$statistic[1])
    dp_p <- unname(dp$p.value[1])
  }
  out <- c(out, sprintf(
    '    "%s": {"n": %d, "ad_statistic": %s, "ad_pvalue": %s, "ad_aa": %s, "dp_statistic": %s, "dp_pvalue": %s,\n      "x": %s}',
    name, length(x), scalar(unname(ad$statistic)), scalar(ad$p.value), scalar(aa_of(x)),
    scalar(dp_stat), scalar(dp_p), num(x)
  ))
}
cat("{\n")
cat(sprintf('  "made_by": "Rscript references/r/univariate.R (%s; nortest %s; fBasics %s)",\n',
            R.version.string, packageVersion("nortest"), packageVersion("fBasics")))
cat('  "cases": {\n')
cat(paste(out, collapse = ",\n"))
cat("\n  }\n}\n")
