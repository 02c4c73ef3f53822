"""Vehicle release kinetics: fit, compare and simulate exosome release from hydrogels,
microneedles and scaffolds, and hand the result to the body simulator as a ReleaseProfile."""

from exomir.release.models import MODELS, ReleaseModel, get_model

__all__ = ["MODELS", "ReleaseModel", "get_model"]
