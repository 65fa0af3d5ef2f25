"""microled-bench: hardware-in-the-loop test bench controller for Micro LED chips."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("microled-bench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
