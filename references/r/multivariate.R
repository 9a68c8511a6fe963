# Reference values for infogauss.stats.mardia and infogauss.stats.henze_zirkler.
#
# No installed R package implements these tests (MVN is not installable here; `energy` and `mvnormtest`
# implement other tests), so this script computes both from their textbook definitions with dense n x n
# matrices, in R, independently of the Python code:
#   Mardia (1970) Biometrika 57:519-530, with the conventions of R's MVN::mardia (MLE covariance 1/n,
#     small-sample corrected skewness for n < 20, two-sided kurtosis z-test), plus the kurtosis z-test
#     with the exact null mean and variance of b2 (infogauss's default);
#   Henze & Zirkler (1990) Commun. Statist. 19:3595-3617, with the conventions of R's MVN::hz (MLE
#     covariance, beta = (1/sqrt 2) (n (2d+1) / 4)^(1/(d+4)), lognormal p-value).
# The data sets are drawn here (set.seed) and stored with the results.
#
# Run from the repository root:  Rscript references/r/multivariate.R
# Writes tests/stats/data/multivariate_r.json (data + R version + results).
library(jsonlite)

mahalanobis_gram <- function(x) {
  n <- nrow(x)
  xc <- sweep(x, 2, colMeans(x))
  s <- crossprod(xc) / n                       # MLE covariance
  xc %*% solve(s) %*% t(xc)                    # G[j, k] = (x_j - m)' S^-1 (x_k - m)
}

mardia_ref <- function(x) {
  n <- nrow(x); d <- ncol(x)
  g <- mahalanobis_gram(x)
  b1 <- sum(g^3) / n^2
  b2 <- sum(diag(g)^2) / n
  corr <- if (n < 20) (d + 1) * (n + 1) * (n + 3) / (n * ((n + 1) * (d + 1) - 6)) else 1
  skew <- n * corr * b1 / 6
  kurt <- (b2 - d * (d + 2)) / sqrt(8 * d * (d + 2) / n)  # asymptotic null moments, as MVN
  # exact null mean (Mardia 1970) and variance (Mardia 1974, Sankhya B 36:115-128) of b2
  kurt_exact <- (b2 - d * (d + 2) * (n - 1) / (n + 1)) /
    sqrt(8 * d * (d + 2) * (n - 3) * (n - d - 1) * (n - d + 1) / ((n + 1)^2 * (n + 3) * (n + 5)))
  list(b1 = b1, b2 = b2, skewness_statistic = skew,
       skewness_pvalue = pchisq(skew, d * (d + 1) * (d + 2) / 6, lower.tail = FALSE),
       kurtosis_statistic = kurt, kurtosis_pvalue = 2 * pnorm(-abs(kurt)),
       kurtosis_exact_statistic = kurt_exact, kurtosis_exact_pvalue = 2 * pnorm(-abs(kurt_exact)))
}

hz_ref <- function(x) {
  n <- nrow(x); d <- ncol(x)
  g <- mahalanobis_gram(x)
  dj <- diag(g)
  djk <- outer(dj, dj, "+") - 2 * g
  b2 <- 0.5 * (n * (2 * d + 1) / 4)^(2 / (d + 4))
  stat <- sum(exp(-b2 / 2 * djk)) / n - 2 * (1 + b2)^(-d / 2) * sum(exp(-b2 / (2 * (1 + b2)) * dj)) +
    n * (1 + 2 * b2)^(-d / 2)
  a <- 1 + 2 * b2; w <- (1 + b2) * (1 + 3 * b2)
  mu <- 1 - a^(-d / 2) * (1 + d * b2 / a + d * (d + 2) * b2^2 / (2 * a^2))
  v <- 2 * (1 + 4 * b2)^(-d / 2) + 2 * a^(-d) * (1 + 2 * d * b2^2 / a^2 + 3 * d * (d + 2) * b2^4 / (4 * a^4)) -
    4 * w^(-d / 2) * (1 + 3 * d * b2^2 / (2 * w) + d * (d + 2) * b2^4 / (2 * w^2))
  meanlog <- log(mu) - 0.5 * log(1 + v / mu^2)
  sdlog <- sqrt(log(1 + v / mu^2))
  list(statistic = stat, pvalue = plnorm(stat, meanlog, sdlog, lower.tail = FALSE))
}

set.seed(20260227)
mix <- function(d) matrix(runif(d * d, -1, 1), d) + diag(d)
sets <- list(
  gauss = matrix(rnorm(60 * 3), 60) %*% mix(3),
  small = matrix(rnorm(15 * 2), 15) %*% mix(2),
  expo = matrix(rexp(80 * 4), 80) %*% mix(4),
  t5 = matrix(rt(200 * 6, df = 5), 200) %*% mix(6)
)
sets <- lapply(sets, round, 10)  # written exactly to JSON, so Python reads the very same numbers
out <- list(r_version = R.version.string, cases = lapply(sets, function(x)
  list(x = x, mardia = mardia_ref(x), henze_zirkler = hz_ref(x))))
dir.create("tests/stats/data", showWarnings = FALSE, recursive = TRUE)
write_json(out, "tests/stats/data/multivariate_r.json", digits = NA, auto_unbox = TRUE, pretty = FALSE)
for (k in names(sets)) {
  r <- out$cases[[k]]
  cat(sprintf("%-6s n=%3d d=%d  HZ=%.10g p=%.6g | skew=%.10g p=%.6g kurt=%.10g p=%.6g\n", k, nrow(sets[[k]]),
              ncol(sets[[k]]), r$henze_zirkler$statistic, r$henze_zirkler$pvalue, r$mardia$skewness_statistic,
              r$mardia$skewness_pvalue, r$mardia$kurtosis_statistic, r$mardia$kurtosis_pvalue))
}
