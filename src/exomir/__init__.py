"""exomir: an open workbench for designing and evaluating exosome-based miRNA therapies."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("exomir")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
