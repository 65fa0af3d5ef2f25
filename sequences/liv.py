"""``liv``: light-current-voltage sweep, point by point (SMU + optical power meter).

The PM100D has no trigger link to the SMU, so each point is: set current, settle, read V and I on
the SMU, read P on the power meter. Compliance reached after the chip conducted ends the sweep
there (``on_compliance: stop``, the default): the points measured are analysed and the current at
compliance is the ``compliance_current`` result. Scalar figures come from
:func:`sequences.dc_analysis.liv_figures`; the derived arrays are ``eqe``
(:func:`~sequences.dc_analysis.eqe`) and ``wpe`` (:func:`~sequences.dc_analysis.wpe`) at every
point, against ``current_density`` (:func:`~sequences.dc_analysis.current_density`).
"""

from __future__ import annotations

from common.errors import ComplianceReached
from drivers.roles import CurrentSource, PowerMeter

from . import dc_analysis
from .base import (
    Parameter,
    Result,
    Sequence,
    compliance_figure,
    smu_parameters,
    stop_at_compliance,
    sweep_levels,
)


class LIV(Sequence):
    name = "liv"
    summary = "light-current-voltage sweep: Vf, diode fit, EQE/WPE, droop"
    results = {
        **dc_analysis.DIODE_RESULTS,
        "peak_eqe": Result("1", "max of EQE = (P / (h c / lambda)) / (I / q) over the sweep, "
                           "refined by a parabola in ln I (Schubert, Light-Emitting Diodes, "
                           "2nd ed., ch. 5)", ("current_density",)),
        "current_density_at_peak_eqe": Result("A/m^2", "J = I / (pi d^2 / 4) at peak_eqe"),
        "peak_wpe": Result("1", "max of WPE = P / (I V) over the sweep (Schubert ch. 5)",
                           ("current_density",)),
        "droop": Result("1", "(EQE_peak - EQE(I_max)) / EQE_peak, I_max the sweep's top current "
                        "(Piprek, phys. stat. sol. (a) 207, 2217 (2010))", ("current_density",)),
        "max_optical_power": Result("W", "max of P over the sweep"),
    }
    roles = {"smu": CurrentSource, "power_meter": PowerMeter}
    parameters = {
        "start": Parameter(1e-6, "A", "first current", minimum=0.0),
        "stop": Parameter(5e-3, "A", "last current", minimum=0.0),
        "points": Parameter(60, "", "number of currents", kind=int, minimum=2, maximum=100_000),
        "spacing": Parameter("log", "", "log or lin spacing of the currents", kind=str,
                             choices=("log", "lin")),
        **smu_parameters("wait after each current step"),
        "averaging": Parameter(1, "", "power meter samples per reading", kind=int, minimum=1),
        "reference_current": Parameter(1e-3, "A", "current at which forward_voltage is given",
                                       minimum=0.0),
    }
    columns = {"set_current": "A", "current": "A", "voltage": "V", "optical_power": "W"}
    derived_axes = {"eqe": {"axis": "current_density"}, "wpe": {"axis": "current_density"}}

    @classmethod
    def levels(cls, params):
        return sweep_levels(params["start"], params["stop"], params["points"], params["spacing"])

    @classmethod
    def check_limits(cls, params, limits):
        limits.check_current(max(abs(params["start"]), abs(params["stop"])), "sweep current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")

    @classmethod
    def planned_points(cls, params):
        return params["points"]

    @classmethod
    def plan(cls, params, sample, setup, models):
        levels = cls.levels(params)
        return {"smu": {"current": float(max(abs(levels.min()), abs(levels.max()))),
                        "voltage": params["voltage_limit"], "nplc": params["nplc"]},
                "power_meter": {"wavelength": sample.wavelength,
                                "averaging": params["averaging"]}}

    def acquire(self, ctx, params):
        smu, meter = ctx.role("smu"), ctx.role("power_meter")
        meter.configure(wavelength=ctx.sample.wavelength, averaging=params["averaging"])
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"])
        smu.output_on()
        try:
            for level in self.levels(params):
                smu.set_current(float(level))
                ctx.sleep(params["settle"])
                try:
                    voltage, current = smu.measure()
                except ComplianceReached as exc:
                    stop_at_compliance(ctx, params, exc.level, f"{exc.level:g} A programmed")
                    break
                ctx.points(set_current=level, current=current, voltage=voltage,
                           optical_power=meter.read_power())
        finally:
            smu.output_off()

    @classmethod
    def analyse(cls, data, params, sample):
        current, voltage, power = data["current"], data["voltage"], data["optical_power"]
        figures = dc_analysis.liv_figures(
            current, voltage, power, wavelength=sample.wavelength, diameter=sample.diameter,
            temperature=sample.temperature, reference_current=params["reference_current"])
        figures["current_density"] = (dc_analysis.current_density(current, sample.diameter),
                                      "A/m^2")
        figures["eqe"] = (dc_analysis.eqe(current, power, sample.wavelength), "1")
        figures["wpe"] = (dc_analysis.wpe(current, voltage, power), "1")
        compliance_figure(data, figures)
        return figures
