"""microled-bench: hardware-in-the-loop test bench controller for Micro LED chips."""

__all__ = ["__version__", "campaign", "open_run", "summarize"]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("microled-bench")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0+source"


def __getattr__(name: str):
    """``bench.__version__``, ``bench.open_run``, ``bench.summarize`` and ``bench.campaign``
    load on first use, not with ``bench``: the command line answers ``bench --help`` at once
    (importlib.metadata and h5py wait until they are needed). ``bench.campaign`` is the module
    :mod:`bench.campaign`, callable as its function ``campaign`` (the submodule's name and the
    function's are one, so either way ``bench.campaign(paths)`` works)."""
    if name == "__version__":
        globals()["__version__"] = value = _version()
        return value
    if name == "campaign":
        from . import campaign

        return campaign
    if name in ("open_run", "summarize"):
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'bench' has no attribute {name!r}")
