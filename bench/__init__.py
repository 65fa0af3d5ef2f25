"""microled-bench: hardware-in-the-loop test bench controller for Micro LED chips."""

from importlib.metadata import PackageNotFoundError, version

from .api import open_run, summarize

try:
    __version__ = version("microled-bench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__", "open_run", "summarize"]
