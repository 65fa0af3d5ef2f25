"""``python -m bench``: the same as the ``bench`` console script."""

from .cli import script

script()
