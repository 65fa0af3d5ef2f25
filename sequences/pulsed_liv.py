"""``pulsed-liv``: current pulses short and rare enough that the junction stays near ambient,
set beside a DC sweep at the same currents on the same chip, through the same leads.

On an SMU that fills ``PulsedCurrentSource`` (the 2600B's trigger-model pulses): first a DC list
sweep (``dc_reference``), then one pulse per level of ``width`` every ``period`` (or at
``duty_cycle``), each measured near its end by the SMU. At a low duty cycle the junction heats
during a pulse only by the fraction its thermal time constant allows, so the pulsed I-V is the
chip's isothermal one and the diode fit gives the series resistance without the thermal error
the DC sweep carries (heating lowers V at high current, the DC fit reads Rs low).

Junction temperature rise, forward-voltage method (Xi & Schubert, Appl. Phys. Lett. 85, 2163
(2004); Schubert, "Light-Emitting Diodes", 2nd ed., ch. 6): at the same current, V_f drops by
|dV_f/dT| per kelvin, so the DC junction runs hotter than the pulsed one by
dT = (V_pulsed - V_dc) / |dV_f/dT|, with dV_f/dT the chip's coefficient (``dvf_dt``, measured
apart, e.g. pulsed V_f at two stage temperatures). Light: this sequence measures none — an
SMU-only bench has no detector read within the pulse (a photodiode on the second channel of a
2602B, measured in the same pulse, is the way; not built yet), and a power meter averaging the
pulse train reads the duty cycle times the pulse power.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from common.errors import ConfigError, LimitError
from drivers.roles import PulsedCurrentSource

from . import dc_analysis
from .base import Dropped, Parameter, Result, Sequence, compliance_figure, figure, sweep_levels


class PulsedLIV(Sequence):
    name = "pulsed-liv"
    summary = "pulsed I-V beside DC: junction temperature rise, Rs without the thermal error"
    roles = {"pulsed_smu": PulsedCurrentSource}
    parameters = {
        "start": Parameter(1e-3, "A", "first pulse current", minimum=0.0),
        "stop": Parameter(10e-3, "A", "last pulse current", minimum=0.0),
        "points": Parameter(10, "", "pulse currents", kind=int, minimum=3, maximum=1000),
        "spacing": Parameter("lin", "", "current spacing", kind=str, choices=("lin", "log")),
        "width": Parameter(100e-6, "s", "pulse width", minimum=1e-9, maximum=10.0),
        "period": Parameter(None, "s", "pulse period (or give duty_cycle)", minimum=1e-9,
                            maximum=1e4),
        "duty_cycle": Parameter(None, "", "width / period (default 0.01 when no period)",
                                minimum=1e-6, maximum=1.0),
        "voltage_limit": Parameter(5.0, "V", "SMU voltage compliance", minimum=0.02),
        "nplc": Parameter(1.0, "", "DC sweep integration time in power-line cycles",
                          minimum=0.001, maximum=25),
        "settle": Parameter(1e-3, "s", "DC sweep delay before each reading", minimum=0.0),
        "dc_reference": Parameter(True, "", "run the DC sweep at the same currents first",
                                  kind=bool),
        "dvf_dt": Parameter(-1.5e-3, "V/K", "the chip's forward-voltage temperature "
                            "coefficient", minimum=-0.1, maximum=-1e-6),
        "reference_current": Parameter(5e-3, "A", "current of the forward voltages and the "
                                       "temperature rise reported", minimum=0.0),
        "remote_sense": Parameter(False, "", "4-wire sensing for this step", kind=bool),
    }
    columns = {"set_current": "A", "current": "A", "voltage": "V"}
    results = {
        **dc_analysis.DIODE_RESULTS,
        "dc_series_resistance": Result("ohm", "R_s of the DC sweep's diode fit, heating "
                                       "included (dc_analysis.diode_fit)"),
        "dc_forward_voltage": Result("V", "DC V_f at reference_current", ("reference_current",)),
        "series_resistance_thermal_error": Result(
            "1", "(R_s,DC - R_s,pulsed) / R_s,pulsed: what self-heating does to the DC fit"),
        "junction_temperature_rise": Result(
            "K", "(V_pulsed - V_DC) / |dV_f/dT| at reference_current: the DC junction over the "
            "pulsed one (forward-voltage method, Xi & Schubert APL 85, 2163 (2004))",
            ("reference_current",)),
        "duty_cycle": Result("1", "width / period of the pulses"),
    }
    derived_axes = {"temperature_rise": {"axis": "temperature_rise_current"}}

    @classmethod
    def timing(cls, params: dict[str, Any]) -> tuple[float, float]:
        """(width, period) from width and period or duty_cycle (0.01 when neither is given)."""
        width, period, duty = params["width"], params["period"], params["duty_cycle"]
        if period is not None and duty is not None:
            raise ConfigError("give period or duty_cycle, not both")
        if period is None:
            period = width / (0.01 if duty is None else duty)
        if width > period:
            raise ConfigError(f"width {width:g} s is longer than the period {period:g} s")
        return width, period

    @classmethod
    def levels(cls, params: dict[str, Any]) -> np.ndarray:
        return sweep_levels(params["start"], params["stop"], params["points"], params["spacing"])

    @classmethod
    def check_limits(cls, params, limits):
        levels = cls.levels(params)
        width, period = cls.timing(params)
        limits.check_pulses(levels, width, period, params["voltage_limit"])
        if params["dc_reference"]:
            top = float(np.max(np.abs(levels)))
            if top > limits.max_current:
                raise LimitError(f"the DC reference sweep would reach {top:g} A, beyond the "
                                 f"sample's max_current {limits.max_current:g} A "
                                 f"(dc_reference: false pulses only)")

    @classmethod
    def planned_points(cls, params):
        return params["points"]

    @classmethod
    def plan(cls, params, sample, setup, models):
        levels = cls.levels(params)
        width, period = cls.timing(params)
        return {"pulsed_smu": {"current": float(np.max(np.abs(levels))),
                        "voltage": params["voltage_limit"], "width": width, "period": period,
                        "sweep_points": params["points"], "nplc": params["nplc"]}}

    def acquire(self, ctx, params):
        smu = ctx.role("pulsed_smu")
        levels = self.levels(params)
        width, period = self.timing(params)
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"],
                                     remote_sense=params["remote_sense"])
        if params["dc_reference"]:
            smu.output_on()
            try:
                dc = smu.sweep_current(levels, delay=params["settle"])
            finally:
                smu.output_off()
            ctx.array("dc_set_current", dc.source, "A")
            ctx.array("dc_current", dc.current, "A")
            ctx.array("dc_voltage", dc.voltage, "V")
        pulsed = smu.pulse_sweep(levels, width=width, period=period,
                                 voltage_limit=params["voltage_limit"])
        if pulsed.stopped_at_compliance:
            ctx.note(f"compliance reached at {levels[pulsed.source.size]:g} A: the pulses "
                     f"beyond it are not analysed")
            ctx.array("compliance_current", np.float64(levels[pulsed.source.size]), "A")
        ctx.points(set_current=pulsed.source, current=pulsed.current, voltage=pulsed.voltage)

    @classmethod
    def analyse(cls, data, params, sample):
        current, voltage = data["current"], data["voltage"]
        reference = params["reference_current"]
        figures = dc_analysis.iv_figures(current, voltage, temperature=sample.temperature,
                                         reference_current=reference)
        width, period = cls.timing(params)
        figures["duty_cycle"] = (width / period, "1")
        compliance_figure(data, figures)
        if "dc_current" not in data:
            return figures
        dc = dc_analysis.iv_figures(data["dc_current"], data["dc_voltage"],
                                    temperature=sample.temperature, reference_current=reference)
        figures["dc_series_resistance"] = dc["series_resistance"]
        figures["dc_forward_voltage"] = dc["forward_voltage"]
        pulsed_rs, dc_rs = figures["series_resistance"][0], dc["series_resistance"][0]
        figure(figures, "series_resistance_thermal_error", "1",
               lambda: _ratio_error(dc_rs, pulsed_rs))
        coefficient = abs(params["dvf_dt"])
        figure(figures, "junction_temperature_rise", "K",
               lambda: (dc_analysis.forward_voltage(current, voltage, reference)
                        - dc_analysis.forward_voltage(data["dc_current"], data["dc_voltage"],
                                                      reference)) / coefficient,
               lambda: {"reference_current": (float(reference), "A")})
        common = min(current.size, data["dc_current"].size)
        if common:
            figures["temperature_rise_current"] = (np.asarray(current[:common]), "A")
            figures["temperature_rise"] = (
                (np.asarray(voltage[:common]) - np.asarray(data["dc_voltage"][:common]))
                / coefficient, "K")
        return figures


def _ratio_error(dc: float | Dropped, pulsed: float | Dropped) -> float:
    if isinstance(dc, Dropped) or isinstance(pulsed, Dropped):
        raise ValueError("a series resistance fit was dropped")
    return (dc - pulsed) / pulsed
