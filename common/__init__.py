"""What every layer shares without depending on another: the error types a user can cause and the
description of the passive set-up. This package imports none of bench, drivers, sequences or
sim_instruments (tests/test_layers.py checks it)."""
