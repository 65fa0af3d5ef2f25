"""microled-bench: hardware-in-the-loop test bench controller for Micro LED chips."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("microled-bench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"

__all__ = ["__version__", "open_run", "summarize"]


def __getattr__(name: str):
    """``bench.open_run`` and ``bench.summarize`` load h5py on first use, not with ``bench``
    (the command line answers ``bench --help`` without it)."""
    if name in ("open_run", "summarize"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
