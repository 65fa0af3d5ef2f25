"""Errors a user can cause; the CLI prints them as one line and exits non-zero."""


class BenchError(Exception):
    """Base of every error that is the user's to fix (bad file, refused request, ...)."""


class ConfigError(BenchError):
    """A station, recipe or parameter file is malformed or names something unknown."""


class LimitError(BenchError):
    """A request exceeds the sample's safe operating limits; nothing was sent."""


class StationError(BenchError):
    """An instrument cannot be opened, identified or configured."""


class RunFileError(BenchError):
    """A file is not a readable run file."""


class ComplianceError(BenchError):
    """A source reached its compliance where the chip should not have let it (open contact,
    damaged chip): the step stops."""


class ComplianceReached(ComplianceError):
    """A current source reached its voltage compliance after the chip had conducted: the top of
    the chip's safe range for this compliance, not a fault. A sweep ends there and keeps its
    points (unless the step asks ``on_compliance: fail``). ``level``: the programmed current at
    which compliance was reached (A)."""

    def __init__(self, message: str, level: float):
        super().__init__(message)
        self.level = level
