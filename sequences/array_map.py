"""``array-map``: a quick test of every emitter of an array, as 2-D maps with a classification.

Per emitter, routed to the SMU by the switch matrix (the switch only moves with the SMU output
off: its guard refuses otherwise): the forward voltage and optical power at
``reference_current`` (current source), then the reverse current at ``reverse_voltage``
(voltage source, ``current_limit`` compliance). One row per emitter is streamed (``row``,
``column``, ``forward_voltage``, ``forward_current``, ``optical_power``, ``reverse_current``);
an emitter whose current source reached its voltage limit (no current flows: an open) has NaN
forward voltage and current. Emitters are tested row by row; an interrupted map resumed with
``bench run --resume`` tests only the emitters its file does not hold (``ctx.earlier``).

The analysis (:func:`map_figures`) gives one 2-D map per quantity (rows x columns, NaN where
untested), the classification map (codes in :data:`CLASSES`) and the array's figures.
Classification, first match wins:

- ``short``: forward voltage below ``short_voltage``. An intact junction does not pass
  ``reference_current`` below about its photon energy over q (h c / (q lambda), 2.76 V at
  450 nm; Schubert, Light-Emitting Diodes, 2nd ed., ch. 4); the default threshold is half of
  that, far below any working emitter and far above I R of a metal short.
- ``dead``: open (no forward current at the voltage limit) or dark: optical power below
  ``dead_fraction`` (1 %) of the median power of the conducting emitters.
- ``leaky``: |reverse current| at ``reverse_voltage`` above ``leakage_limit``. Intact InGaN
  micro-LED junctions leak pA to some 100 pA at -5 V; 1 nA and more is a shunt path (etch
  damage of the sidewalls, threading dislocations).
- ``weak``: optical power below ``weak_fraction`` (half) of that median power.
- ``good``: everything else.
"""

from __future__ import annotations

import math

import numpy as np

from common.errors import ComplianceError, ConfigError
from drivers.roles import PowerMeter, SourceMeter, Switch

from .base import Parameter, Result, Sequence, figure
from .dc_analysis import C_LIGHT, H, Q

CLASSES = ("good", "weak", "leaky", "dead", "short")
"""Codes of the ``classification_map``: the index in this tuple (NaN: not tested)."""
GOOD, WEAK, LEAKY, DEAD, SHORT = range(len(CLASSES))

MAPS = {"forward_voltage_map": ("forward_voltage", "V"),
        "optical_power_map": ("optical_power", "W"),
        "reverse_current_map": ("reverse_current", "A")}
"""Derived map -> (streamed column it is drawn from, units)."""


class ArrayMap(Sequence):
    name = "array-map"
    summary = "per-emitter Vf, optical power and reverse leakage of an array: maps, yield, CVs"
    roles = {"switch": Switch, "smu": SourceMeter, "power_meter": PowerMeter}
    resumable = True
    parameters = {
        "rows": Parameter(8, "", "rows of the array to map (from row 0)", kind=int,
                          minimum=1, maximum=4096),
        "columns": Parameter(8, "", "columns of the array to map (from column 0)", kind=int,
                             minimum=1, maximum=4096),
        "reference_current": Parameter(1e-3, "A", "forward current of the Vf and power test",
                                       minimum=1e-9),
        "voltage_limit": Parameter(5.0, "V", "compliance of the forward test", minimum=0.02),
        "reverse_voltage": Parameter(-5.0, "V", "bias of the leakage test", maximum=-0.01),
        "current_limit": Parameter(1e-4, "A", "compliance of the leakage test", minimum=1e-9),
        "nplc": Parameter(0.1, "", "SMU integration time in power-line cycles",
                          minimum=0.01, maximum=10),
        "settle": Parameter(1e-3, "s", "wait after each level before reading", minimum=0.0),
        "averaging": Parameter(1, "", "power meter samples per reading", kind=int, minimum=1),
        "short_voltage": Parameter(None, "V", "a forward voltage below this is a short "
                                   "(default: half of h c / (q wavelength))", minimum=0.0),
        "dead_fraction": Parameter(0.01, "", "dead: power below this fraction of the median",
                                   minimum=0.0, maximum=1.0),
        "weak_fraction": Parameter(0.5, "", "weak: power below this fraction of the median",
                                   minimum=0.0, maximum=1.0),
        "leakage_limit": Parameter(1e-9, "A", "leaky: |reverse current| above this",
                                   minimum=0.0),
    }
    columns = {"row": "", "column": "", "forward_voltage": "V", "forward_current": "A",
               "optical_power": "W", "reverse_current": "A"}
    results = {
        "yield": Result("1", "emitters classified good / emitters tested"),
        "power_cv": Result("1", "sample standard deviation / mean of the optical power at "
                           "reference_current over the good emitters", ("bias_current",)),
        "vf_cv": Result("1", "sample standard deviation / mean of the forward voltage at "
                        "reference_current over the good emitters", ("bias_current",)),
        "dead_count": Result("", "emitters open or emitting below dead_fraction of the median "
                             "power"),
        "short_count": Result("", "emitters with a forward voltage below short_voltage"),
        "leaky_count": Result("", "emitters leaking more than leakage_limit at "
                              "reverse_voltage", ("reverse_voltage",)),
        "weak_count": Result("", "emitters emitting below weak_fraction of the median power"),
        "tested_count": Result("", "emitters with a row in the data"),
        "median_optical_power": Result("W", "median optical power of the conducting emitters "
                                       "(neither open nor shorted)", ("bias_current",)),
    }
    derived_axes = dict.fromkeys((*MAPS, "classification_map"),
                                 {"axes": ["map_row", "map_column"]})

    @classmethod
    def check_limits(cls, params, limits):
        limits.check_current(params["reference_current"], "reference_current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")
        limits.check_voltage(params["reverse_voltage"], "reverse_voltage")
        limits.check_current(params["current_limit"], "current_limit")
        if params["leakage_limit"] >= params["current_limit"]:
            raise ConfigError(f"leakage_limit {params['leakage_limit']:g} A must be below the "
                              f"leakage test's current_limit {params['current_limit']:g} A")
        if params["weak_fraction"] < params["dead_fraction"]:
            raise ConfigError("weak_fraction must be at least dead_fraction")
        if params["short_voltage"] is not None and \
                params["short_voltage"] >= params["voltage_limit"]:
            raise ConfigError(f"short_voltage {params['short_voltage']:g} V must be below "
                              f"voltage_limit {params['voltage_limit']:g} V")

    @classmethod
    def planned_points(cls, params):
        return params["rows"] * params["columns"]

    @classmethod
    def plan(cls, params, sample, setup, models):
        return {"switch": {"rows": params["rows"], "columns": params["columns"]},
                "smu": {"current": max(params["reference_current"], params["current_limit"]),
                        "voltage": max(params["voltage_limit"], -params["reverse_voltage"]),
                        "nplc": params["nplc"]},
                "power_meter": {"wavelength": sample.wavelength,
                                "averaging": params["averaging"]}}

    @staticmethod
    def emitters(params, earlier: dict[str, np.ndarray]) -> list[tuple[int, int]]:
        """The emitters still to test, row by row: those without a row in ``earlier``."""
        done = set()
        if len(earlier.get("row", ())):
            done = set(zip(earlier["row"].astype(int).tolist(),
                           earlier["column"].astype(int).tolist(), strict=True))
        return [(r, c) for r in range(params["rows"]) for c in range(params["columns"])
                if (r, c) not in done]

    def acquire(self, ctx, params):
        switch, smu, meter = ctx.role("switch"), ctx.role("smu"), ctx.role("power_meter")
        if switch.rows < params["rows"] or switch.columns < params["columns"]:
            raise ConfigError(f"the switch routes {switch.rows} x {switch.columns} emitters; "
                              f"the map asks for {params['rows']} x {params['columns']}")
        meter.configure(wavelength=ctx.sample.wavelength, averaging=params["averaging"])
        todo = self.emitters(params, ctx.earlier)
        try:
            for row, column in todo:
                switch.select(row, column)  # the SMU output is off here
                ctx.points(row=row, column=column, **self.test_emitter(ctx, smu, meter, params))
        finally:
            smu.output_off()
            switch.open_all()

    @staticmethod
    def test_emitter(ctx, smu, meter, params) -> dict[str, float]:
        """The forward and reverse test of the emitter routed to the SMU; output off after."""
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"])
        smu.output_on()
        try:
            smu.set_current(params["reference_current"])
            ctx.sleep(params["settle"])
            try:
                voltage, current = smu.measure()
            except ComplianceError:  # no current at the voltage limit: an open emitter
                voltage = current = math.nan
            power = meter.read_power()
        finally:
            smu.output_off()
        smu.configure_voltage_source(current_limit=params["current_limit"], nplc=params["nplc"])
        smu.output_on()
        try:
            smu.set_voltage(params["reverse_voltage"])
            ctx.sleep(params["settle"])
            _, reverse = smu.measure()
        finally:
            smu.output_off()
        return {"forward_voltage": voltage, "forward_current": current,
                "optical_power": power, "reverse_current": reverse}

    @classmethod
    def analyse(cls, data, params, sample):
        return map_figures(data, params, sample.wavelength)


def short_voltage(params, wavelength: float) -> float:
    """The short threshold (V): the parameter, or half of h c / (q wavelength)."""
    given = params.get("short_voltage")
    return float(given) if given is not None else 0.5 * H * C_LIGHT / (Q * wavelength)


def classify(forward_voltage, optical_power, reverse_current, *, short_below: float,
             dead_fraction: float, weak_fraction: float, leakage_limit: float
             ) -> tuple[np.ndarray, float]:
    """(class code per emitter as in :data:`CLASSES`, median optical power of the conducting
    emitters) from 1-D arrays of equal length; NaN forward voltage means open. The median is
    NaN when no emitter conducts."""
    vf = np.asarray(forward_voltage, dtype=float)
    power = np.asarray(optical_power, dtype=float)
    leakage = np.abs(np.asarray(reverse_current, dtype=float))
    if not vf.shape == power.shape == leakage.shape or vf.ndim != 1:
        raise ValueError("forward_voltage, optical_power and reverse_current must be 1-D "
                         "arrays of one length")
    is_open = np.isnan(vf)
    short = ~is_open & (vf < short_below)
    conducting = ~is_open & ~short
    median = float(np.median(power[conducting])) if conducting.any() else math.nan
    codes = np.full(vf.shape, GOOD, dtype=float)
    with np.errstate(invalid="ignore"):  # a NaN median: no emitter is dark or weak by it
        dark = power < dead_fraction * median
        weak = power < weak_fraction * median
    for mask, code in ((weak, WEAK), (leakage > leakage_limit, LEAKY),
                       (is_open | dark, DEAD), (short, SHORT)):  # the later wins
        codes[mask] = code
    return codes, median


def to_map(rows: np.ndarray, columns: np.ndarray, values: np.ndarray,
           shape: tuple[int, int]) -> np.ndarray:
    """A rows x columns map of per-emitter values (NaN where no emitter was tested; a later
    row of the same emitter replaces an earlier one)."""
    out = np.full(shape, np.nan)
    r, c = np.asarray(rows).astype(int), np.asarray(columns).astype(int)
    inside = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
    if not inside.all():
        raise ValueError(f"emitter ({r[~inside][0]}, {c[~inside][0]}) is outside the "
                         f"{shape[0]} x {shape[1]} map")
    out[r, c] = values
    return out


def cv(values: np.ndarray) -> float:
    """Coefficient of variation: sample standard deviation (ddof 1) over the mean."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        raise ValueError(f"a coefficient of variation needs 2 good emitters, got {values.size}")
    mean = float(np.mean(values))
    if mean == 0:
        raise ValueError("the mean is zero: no coefficient of variation")
    return float(np.std(values, ddof=1) / abs(mean))


def map_figures(data: dict[str, np.ndarray], params: dict, wavelength: float):
    """Maps, classification and figures of an ``array-map`` step (see the module's docstring)
    from its streamed rows."""
    rows, columns = data["row"], data["column"]
    codes, median = classify(
        data["forward_voltage"], data["optical_power"], data["reverse_current"],
        short_below=short_voltage(params, wavelength), dead_fraction=params["dead_fraction"],
        weak_fraction=params["weak_fraction"], leakage_limit=params["leakage_limit"])
    shape = (params["rows"], params["columns"])
    figures = {name: (to_map(rows, columns, data[column], shape), units)
               for name, (column, units) in MAPS.items()}
    classes = to_map(rows, columns, codes, shape)
    figures["classification_map"] = (classes, "")
    figures["map_row"] = (np.arange(shape[0], dtype=float), "")
    figures["map_column"] = (np.arange(shape[1], dtype=float), "")
    tested = classes[np.isfinite(classes)]  # one code per emitter, whatever was re-tested
    good = np.isfinite(classes) & (classes == GOOD)
    bias = {"bias_current": (params["reference_current"], "A")}
    figures["tested_count"] = (float(tested.size), "")
    for name, code in (("dead_count", DEAD), ("short_count", SHORT), ("weak_count", WEAK)):
        figures[name] = (float(np.count_nonzero(tested == code)), "")
    figures["leaky_count"] = (float(np.count_nonzero(tested == LEAKY)), "",
                              {"reverse_voltage": (params["reverse_voltage"], "V")})
    figure(figures, "yield", "1", lambda: _fraction(np.count_nonzero(good), tested.size))
    figure(figures, "power_cv", "1", lambda: cv(figures["optical_power_map"][0][good]),
           lambda: bias)
    figure(figures, "vf_cv", "1", lambda: cv(figures["forward_voltage_map"][0][good]),
           lambda: bias)
    figure(figures, "median_optical_power", "W", lambda: _finite(median, "no emitter conducts"),
           lambda: bias)
    return figures


def _fraction(count: int, total: int) -> float:
    if total == 0:
        raise ValueError("no emitter was tested")
    return count / total


def _finite(value: float, why: str) -> float:
    if not math.isfinite(value):
        raise ValueError(why)
    return value
