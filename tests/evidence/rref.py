"""One Rscript process computes every metafor reference value the tests compare against.

The R side loads canonical datasets from metadat and random datasets written by Python,
computes escalc / rma / confint / predict / leave1out / cumul / regtest / ranktest / trimfill
with tight convergence control (so both sides are at full precision) and writes lines
``key<TAB>v1,v2,...`` that :func:`run_reference` parses into a dict of float arrays.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

METHODS = ("FE", "DL", "REML", "ML", "PM", "SJ", "HE")
TESTS = ("z", "knha")
QUANTS = ("beta", "se", "zval", "pval", "ci.lb", "ci.ub", "tau2", "I2", "H2", "QE", "QEp",
          "pi.lb", "pi.ub")


def random_datasets(seed: int = 20240611) -> dict[str, pd.DataFrame]:
    """Random continuous, binary and generic datasets (k from 2 to 60, with/without tau^2)."""
    rng = np.random.default_rng(seed)
    out: dict[str, pd.DataFrame] = {}
    for i in range(8):
        k = int(rng.choice([2, 3, 5, 8, 15, 30, 60]))
        n1 = rng.integers(3, 40, k)
        n2 = rng.integers(3, 40, k)
        theta = rng.normal(0.3, 0.5 * rng.uniform(0, 1.5), k)
        m2 = rng.uniform(20, 60, k)
        sd = rng.uniform(2, 15, k)
        out[f"cont{i}"] = pd.DataFrame({
            "study": [f"s{j + 1}" for j in range(k)],
            "m1i": np.round(m2 + theta * sd + rng.normal(0, sd / np.sqrt(n1)), 3),
            "sd1i": np.round(sd * rng.uniform(0.7, 1.3, k), 3), "n1i": n1,
            "m2i": np.round(m2, 3), "sd2i": np.round(sd * rng.uniform(0.7, 1.3, k), 3),
            "n2i": n2,
            "year": rng.integers(2005, 2025, k),
            "x1": np.round(rng.normal(0, 1, k), 3),
        })
    for i in range(6):
        k = int(rng.choice([3, 6, 12, 25]))
        n1 = rng.integers(5, 60, k)
        n2 = rng.integers(5, 60, k)
        p2 = rng.uniform(0.02, 0.6, k)
        p1 = np.clip(p2 * np.exp(rng.normal(-0.3, 0.4, k)), 0.001, 0.95)
        a = rng.binomial(n1, p1)
        c = rng.binomial(n2, p2)
        out[f"bin{i}"] = pd.DataFrame({"study": [f"b{j + 1}" for j in range(k)], "ai": a,
                                       "bi": n1 - a, "ci": c, "di": n2 - c,
                                       "year": rng.integers(1990, 2025, k)})
    for i in range(8):
        k = int(rng.choice([2, 4, 10, 20, 40, 100]))
        vi = rng.uniform(0.005, 0.3, k)
        tau2 = float(rng.choice([0.0, 0.02, 0.1, 0.5]))
        yi = rng.normal(0.2, np.sqrt(vi + tau2))
        out[f"gen{i}"] = pd.DataFrame({"study": [f"g{j + 1}" for j in range(k)],
                                       "yi": yi, "vi": vi, "year": rng.integers(1990, 2025, k),
                                       "x1": rng.normal(0, 1, k), "x2": rng.uniform(0, 1, k)})
    return out


R_SCRIPT = r"""
options(warn = -1)
suppressMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
indir <- args[1]
out <- file(args[2], "w")
emit <- function(key, x) {
  x <- suppressWarnings(as.numeric(x))
  cat(key, "\t", paste(ifelse(is.na(x), "NA", sprintf("%.17g", x)), collapse = ","), "\n",
      sep = "", file = out)
}
ctlfor <- function(yi) list(threshold = 1e-12 * max(1, var(yi, na.rm = TRUE)), tol = 1e-14,
                           maxiter = 5000)
qs <- c("beta", "se", "zval", "pval", "ci.lb", "ci.ub", "tau2", "I2", "H2", "QE", "QEp")
fitall <- function(ds, yi, vi) {
  emit(paste0(ds, "|yi"), yi); emit(paste0(ds, "|vi"), vi)
  ok <- !is.na(yi) & !is.na(vi); yi <- yi[ok]; vi <- vi[ok]
  ctl <- ctlfor(yi)
  for (m in c("FE", "DL", "REML", "ML", "PM", "SJ", "HE")) for (t in c("z", "knha")) {
    key <- paste(ds, m, t, sep = "|")
    r <- try(rma(yi, vi, method = m, test = t, control = ctl), silent = TRUE)
    if (inherits(r, "try-error")) { emit(paste0(key, "|error"), 1); next }
    for (q in qs) emit(paste0(key, "|", q), r[[q]])
    p <- predict(r)
    emit(paste0(key, "|pi.lb"), p$pi.lb); emit(paste0(key, "|pi.ub"), p$pi.ub)
    if (m != "FE" && r$k > 1) {
      ci <- try(confint(r, control = list(tol = 1e-14)), silent = TRUE)
      if (!inherits(ci, "try-error")) emit(paste0(key, "|tau2ci"), ci$random[1, 2:3])
    }
  }
}
extras <- function(ds, yi, vi, year, method) {
  ctl <- ctlfor(yi)
  r <- rma(yi, vi, method = method, control = ctl)
  key <- paste(ds, method, sep = "|")
  l <- leave1out(r, control = ctl)
  emit(paste0(key, "|l1o.estimate"), l$estimate); emit(paste0(key, "|l1o.se"), l$se)
  emit(paste0(key, "|l1o.tau2"), l$tau2); emit(paste0(key, "|l1o.I2"), l$I2)
  emit(paste0(key, "|l1o.Q"), l$Q); emit(paste0(key, "|l1o.ci.lb"), l$ci.lb)
  cu <- cumul(r, order = year, control = ctl)
  emit(paste0(key, "|cumul.estimate"), cu$estimate); emit(paste0(key, "|cumul.tau2"), cu$tau2)
  emit(paste0(key, "|cumul.se"), cu$se)
  if (r$k >= 3) {
    eg <- regtest(r, control = ctl)
    emit(paste0(key, "|egger"), c(eg$zval, eg$pval, eg$est, eg$ci.lb, eg$ci.ub))
    rk <- ranktest(r)
    emit(paste0(key, "|begg"), c(rk$tau, rk$pval))
    tf <- try(trimfill(r, control = ctl), silent = TRUE)
    if (!inherits(tf, "try-error")) {
      emit(paste0(key, "|tf.k0"), tf$k0)
      emit(paste0(key, "|tf.fit"), c(tf$beta, tf$se, tf$tau2, tf$QE))
      emit(paste0(key, "|tf.yi"), tf$yi[tf$fill]); emit(paste0(key, "|tf.vi"), tf$vi[tf$fill])
    }
  }
}
bcg <- dat.bcg
emit("data|bcg|tpos", bcg$tpos); emit("data|bcg|tneg", bcg$tneg)
emit("data|bcg|cpos", bcg$cpos); emit("data|bcg|cneg", bcg$cneg)
emit("data|bcg|year", bcg$year); emit("data|bcg|ablat", bcg$ablat)
emit("data|bcg|alloc", as.integer(factor(bcg$alloc)))
for (ms in c("RR", "OR", "RD")) {
  d <- escalc(ms, ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
  fitall(paste0("bcg.", ms), d$yi, d$vi)
}
d <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = bcg)
ctl <- ctlfor(d$yi)
extras("bcg.RR", d$yi, d$vi, bcg$year, "REML")
extras("bcg.RR", d$yi, d$vi, bcg$year, "DL")
for (m in c("FE", "DL", "REML", "ML", "PM", "SJ", "HE")) for (t in c("z", "knha")) {
  key <- paste("bcg.RR.mreg", m, t, sep = "|")
  r <- rma(yi, vi, mods = ~ ablat + year, data = d, method = m, test = t, control = ctl)
  for (q in c(qs, "QM", "QMp")) emit(paste0(key, "|", q), r[[q]])
  r0 <- rma(yi, vi, mods = ~ factor(alloc), data = d, method = m, test = t, control = ctl)
  key <- paste("bcg.RR.alloc", m, t, sep = "|")
  for (q in c(qs, "QM", "QMp")) emit(paste0(key, "|", q), r0[[q]])
  sub <- lapply(split(d, d$alloc), function(x) rma(yi, vi, data = x, method = m, test = t, control = ctl))
  est <- sapply(sub, function(x) x$beta); se <- sapply(sub, function(x) x$se)
  emit(paste0(key, "|sub.beta"), est); emit(paste0(key, "|sub.tau2"), sapply(sub, function(x) x$tau2))
  rb <- rma(est, sei = se, mods = ~ factor(names(sub)), method = "FE")
  emit(paste0(key, "|sub.QM"), c(rb$QM, rb$QMp))
}
n <- dat.normand1999
for (nm in c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")) emit(paste0("data|normand|", nm), n[[nm]])
for (ms in c("SMD", "MD", "ROM")) {
  d <- escalc(ms, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = n)
  fitall(paste0("normand.", ms), d$yi, d$vi)
}
cu <- dat.curtis1998
for (nm in c("m1i", "sd1i", "n1i", "m2i", "sd2i", "n2i")) emit(paste0("data|curtis|", nm), cu[[nm]])
for (ms in c("ROM", "SMD")) {
  d <- escalc(ms, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = cu)
  fitall(paste0("curtis.", ms), d$yi, d$vi)
}
h <- dat.hackshaw1998
emit("data|hackshaw|yi", h$yi); emit("data|hackshaw|vi", h$vi); emit("data|hackshaw|year", h$year)
fitall("hackshaw.GEN", h$yi, h$vi)
extras("hackshaw.GEN", h$yi, h$vi, h$year, "REML")
extras("hackshaw.GEN", h$yi, h$vi, h$year, "FE")
y <- dat.yusuf1985
y <- y[!is.na(y$ai) & !is.na(y$ci) & !is.na(y$n1i) & !is.na(y$n2i), ]
emit("data|yusuf|ai", y$ai); emit("data|yusuf|n1i", y$n1i)
emit("data|yusuf|ci", y$ci); emit("data|yusuf|n2i", y$n2i)
for (ms in c("OR", "RR", "RD")) {
  d <- escalc(ms, ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = y)
  fitall(paste0("yusuf.", ms), d$yi, d$vi)
}
for (f in list.files(indir, pattern = "[.]csv$")) {
  ds <- sub("[.]csv$", "", f)
  x <- read.csv(file.path(indir, f))
  if (startsWith(ds, "cont")) {
    for (ms in c("SMD", "MD", "ROM")) {
      d <- escalc(ms, m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = x)
      fitall(paste0(ds, ".", ms), d$yi, d$vi)
    }
    d <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = x)
    if (nrow(x) >= 3 && nrow(x) <= 40) extras(paste0(ds, ".SMD"), d$yi, d$vi, x$year, "REML")
  } else if (startsWith(ds, "bin")) {
    for (ms in c("RR", "OR", "RD")) {
      d <- escalc(ms, ai = ai, bi = bi, ci = ci, di = di, data = x)
      fitall(paste0(ds, ".", ms), d$yi, d$vi)
    }
  } else {
    fitall(paste0(ds, ".GEN"), x$yi, x$vi)
    if (nrow(x) >= 3 && nrow(x) <= 40) {
      extras(paste0(ds, ".GEN"), x$yi, x$vi, x$year, "REML")
      extras(paste0(ds, ".GEN"), x$yi, x$vi, x$year, "PM")
    }
    ctl <- ctlfor(x$yi)
    if (nrow(x) >= 5) for (m in c("REML", "DL", "FE")) for (t in c("z", "knha")) {
      key <- paste(ds, "mreg", m, t, sep = "|")
      r <- rma(yi, vi, mods = ~ x1 + x2, data = x, method = m, test = t, control = ctl)
      for (q in c(qs, "QM", "QMp")) emit(paste0(key, "|", q), r[[q]])
    }
  }
}
close(out)
"""


def run_reference(rscript: str, workdir: Path) -> tuple[dict[str, np.ndarray],
                                                           dict[str, pd.DataFrame]]:
    """Run the batch once; return (reference values by key, the random datasets used)."""
    data = random_datasets()
    indir = workdir / "in"
    indir.mkdir(parents=True, exist_ok=True)
    for name, df in data.items():
        df.to_csv(indir / f"{name}.csv", index=False)
    script = workdir / "ref.R"
    script.write_text(R_SCRIPT)
    outfile = workdir / "ref.tsv"
    proc = subprocess.run([rscript, str(script), str(indir), str(outfile)],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"Rscript failed: {proc.stderr[-2000:]}")
    ref: dict[str, np.ndarray] = {}
    for line in outfile.read_text().splitlines():
        key, _, vals = line.partition("\t")
        ref[key] = np.array([np.nan if v == "NA" else float(v) for v in vals.split(",")
                             if v != ""])
    return ref, data
