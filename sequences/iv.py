"""``iv``: current-voltage sweep run inside the SMU and read back in one transfer.

``source: current`` (default) sweeps forward current and gives the diode figures;
``source: voltage`` sweeps voltage, e.g. 0 to -5 V as a pre-screen, and gives ``reverse_leakage``
at ``reverse_voltage`` when the sweep reaches it (and the diode figures when it covers forward
bias). A sweep the SMU ends at its compliance after the chip conducted (the 2450's
``failAbort``) keeps its points and is analysed; ``compliance_current`` says where it stopped.
"""

from __future__ import annotations

import numpy as np

from drivers.roles import CurrentSource

from . import dc_analysis
from .base import (
    ON_COMPLIANCE,
    Parameter,
    Result,
    Sequence,
    compliance_figure,
    stop_at_compliance,
    sweep_levels,
)


class IV(Sequence):
    name = "iv"
    summary = "instrument-side I-V sweep: Vf, diode fit; reverse leakage with source: voltage"
    results = {**dc_analysis.DIODE_RESULTS,
               "reverse_leakage": Result("A", "|I| at reverse_voltage, interpolated linearly in "
                                         "the programmed V (source: voltage, a sweep reaching "
                                         "it; Schubert ch. 4)", ("reverse_voltage",))}
    roles = {"smu": CurrentSource}
    parameters = {
        "source": Parameter("current", "", "what the SMU sources", kind=str,
                            choices=("current", "voltage")),
        "start": Parameter(1e-6, "A or V", "first level"),
        "stop": Parameter(5e-3, "A or V", "last level"),
        "points": Parameter(60, "", "number of levels", kind=int, minimum=2, maximum=10_000),
        "spacing": Parameter("log", "", "log or lin", kind=str, choices=("log", "lin")),
        "nplc": Parameter(1.0, "", "integration time in power-line cycles",
                          minimum=0.01, maximum=10),
        "voltage_limit": Parameter(5.0, "V", "compliance when sourcing current", minimum=0.02),
        "current_limit": Parameter(1e-3, "A", "compliance when sourcing voltage", minimum=1e-9),
        "delay": Parameter(0.0, "s", "source delay per point", minimum=0.0),
        "reference_current": Parameter(1e-3, "A", "current for forward_voltage", minimum=0.0),
        "reverse_voltage": Parameter(-5.0, "V", "voltage for reverse_leakage", maximum=0.0),
        "on_compliance": ON_COMPLIANCE,
    }

    @classmethod
    def column_units(cls, params):
        return {"set_level": "A" if params["source"] == "current" else "V",
                "current": "A", "voltage": "V"}

    @classmethod
    def levels(cls, params):
        return sweep_levels(params["start"], params["stop"], params["points"], params["spacing"])

    @classmethod
    def check_limits(cls, params, limits):
        ends = (params["start"], params["stop"])
        if params["source"] == "current":
            for level in ends:
                limits.check_current(level, "sweep current")
            limits.check_voltage(params["voltage_limit"], "voltage_limit")
        else:
            for level in ends:
                limits.check_voltage(level, "sweep voltage")
            limits.check_current(params["current_limit"], "current_limit")

    @classmethod
    def planned_points(cls, params):
        return params["points"]

    @classmethod
    def plan(cls, params, sample, setup, models):
        levels = cls.levels(params)
        top = float(max(abs(levels.min()), abs(levels.max())))
        current, voltage = ((top, params["voltage_limit"]) if params["source"] == "current"
                            else (params["current_limit"], top))
        return {"smu": {"current": current, "voltage": voltage, "nplc": params["nplc"],
                        "sweep_points": params["points"]}}

    def acquire(self, ctx, params):
        smu = ctx.role("smu")
        levels = self.levels(params)
        if params["source"] == "current":
            smu.configure_current_source(voltage_limit=params["voltage_limit"],
                                         nplc=params["nplc"])
            readings = smu.sweep_current(levels, delay=params["delay"])
        else:
            smu.configure_voltage_source(current_limit=params["current_limit"],
                                         nplc=params["nplc"])
            readings = smu.sweep_voltage(levels, delay=params["delay"])
        smu.output_off()
        ctx.points(set_level=readings.source, current=readings.current, voltage=readings.voltage)
        if readings.stopped_at_compliance:
            measured = readings.source.size
            where = (f"{levels[measured]:g} {'A' if params['source'] == 'current' else 'V'} "
                     "programmed" if measured < levels.size else "the last level")
            stop_at_compliance(ctx, params, float(levels[min(measured, levels.size - 1)])
                               if params["source"] == "current" else params["current_limit"],
                               where)

    @classmethod
    def analyse(cls, data, params, sample):
        current, voltage = data["current"], data["voltage"]
        figures = {}
        forward = current > 0
        reverse = voltage < 0
        if np.any(reverse):  # forward points carrying < 100x the ohmic leakage seen in reverse
            leakage = np.max(np.abs(current[reverse] / voltage[reverse]))  # S
            forward &= current > 100 * leakage * voltage  # are leakage, not the diode: not fitted
        if np.count_nonzero(forward) >= 3 and np.ptp(voltage[forward]) > 0:
            figures.update(dc_analysis.iv_figures(
                current[forward], voltage[forward], temperature=sample.temperature,
                reference_current=params["reference_current"]))
        # the programmed voltages: the readback of -5 V may read -4.9997 V, short of the point
        programmed = data.get("set_level", voltage)
        if params["source"] == "voltage" and programmed.min() <= params["reverse_voltage"]:
            figures["reverse_leakage"] = (dc_analysis.reverse_leakage(
                programmed, current, params["reverse_voltage"]), "A",
                {"reverse_voltage": (params["reverse_voltage"], "V")})
        compliance_figure(data, figures)
        return figures
