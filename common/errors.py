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
