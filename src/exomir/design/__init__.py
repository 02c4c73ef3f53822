"""``exomir design``: from an indication to a justified, compared therapy design and its report.

The design package joins the capabilities; it computes nothing of its own beyond choosing
defaults and arranging results. Each number in the report names the function that made it.
"""

from exomir.design.pipeline import DesignResult, run_design
from exomir.design.spec import CandidateDesign, DesignSpec, example_spec, load_design

__all__ = ["CandidateDesign", "DesignResult", "DesignSpec", "example_spec", "load_design",
           "run_design"]
