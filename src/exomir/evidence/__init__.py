"""Evidence synthesis: effect sizes, meta-analysis, small-study effects, risk of bias, plots.

Conventions and names follow metafor (Viechtbauer 2010, doi:10.18637/jss.v036.i03) so that an
analysis moves between R and exomir with the same numbers; see docs/evidence.md.

Entry points: :func:`escalc` (effect sizes), :func:`rma` (models), :mod:`.analysis`
(subgroups, meta-regression, leave-one-out, cumulative, Egger, Begg, trim-and-fill),
:mod:`.arms` (knowledge-base arm outcomes, extraction sheets), :mod:`.rob` (SYRCLE),
:mod:`.plots` (forest, funnel, bubble, traffic light).
"""

from exomir.evidence.effects import escalc, se_to_sd, split_shared_control, wan_mean_sd
from exomir.evidence.meta import MetaResult, confint_tau2, estimate_tau2, rma

__all__ = ["MetaResult", "confint_tau2", "escalc", "estimate_tau2", "rma", "se_to_sd",
           "split_shared_control", "wan_mean_sd"]
