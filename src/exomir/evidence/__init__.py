"""Evidence synthesis: effect sizes, meta-analysis, small-study effects, risk of bias, plots.

Conventions and names follow metafor (Viechtbauer 2010, doi:10.18637/jss.v036.i03) so that an
analysis moves between R and exomir with the same numbers; see docs/evidence.md.
"""

from exomir.evidence.meta import MetaResult, confint_tau2, estimate_tau2, rma

__all__ = ["MetaResult", "confint_tau2", "estimate_tau2", "rma"]
