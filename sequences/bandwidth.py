"""``bandwidth``: the chip's small-signal modulation response at a list of DC bias currents.

With a network analyser (roles smu + network_analyzer) S21 is swept at each bias: the VNA's port 1
modulates the chip through the bias tee, the photoreceiver feeds port 2. Without one (roles smu +
pattern_generator + oscilloscope) the response comes from the step response: a square pattern of
long runs, ``modulation_depth`` x bias peak to peak (at least the smallest step a pattern
generator makes: ``MIN_STEP_VOLTS`` programmed into 50 ohm, through the drive circuit), recorded
on the scope (drive and optical channels, averaged), turned into H(f) by the derivative-and-FFT
of every settled edge (:func:`dynamic_analysis.edge_frequency_response`) and smoothed onto a log
grid.

Both paths remove the photoreceiver's pole, fit |H|^2 = G / ((1 + (w tau)^2)(1 + (w RC)^2)) with
one differential lifetime tau per bias and one RC pole for all [Coldren ch. 5], normalise each bias
to its fitted G and read f3db (|H| = 1/sqrt 2, |S21| down 3 dB) and f3db_optical (|H| = 1/2) off
the measured curve (:func:`dynamic_analysis.bandwidth_from_power_gain`). Scalar results are those
at the highest bias, which they carry as their conditions (``bias_current`` as the SMU measured
it, and its ``current_density``); the per-bias figures are derived arrays (``<figure>_per_bias``
against ``current_density`` and the measured ``bias_current``), with the normalised response
``normalised_power_gain`` (one row per bias, over ``response_frequency``).
"""

from __future__ import annotations

import math

import numpy as np

from common.errors import ComplianceReached, ConfigError
from common.passive import DriveCircuit
from drivers.roles import CurrentSource, NetworkAnalyzer, Oscilloscope, PatternGenerator

from . import dynamic_analysis as da
from .base import (
    Parameter,
    Result,
    Sequence,
    compliance_figure,
    smu_parameters,
    stop_at_compliance,
)
from .dc_analysis import current_density
from .pulse_response import (
    RECORD_RUNS,
    autoscale,
    check_bit_rate,
    check_modulation,
    configure_capture,
    generator_request,
    modulation_circuit,
    on_common_time,
    record_volts,
    scope_request,
    set_modulation,
    smu_request,
    square_pattern,
    step_parameters,
    store_records,
    store_setup,
)

AT_BIAS = ("bias_current", "current_density")  # the conditions of the per-bias results
SMALL_SIGNAL = 0.25  # largest VNA modulation amplitude, as a fraction of the lowest bias
AUTO_AMPLITUDE = 0.1  # the default VNA power's modulation amplitude, as a fraction of it
# the step path's smallest step, programmed volts into 50 ohm: above the 50 mV minimum amplitude
# of the 81134A class of pattern generators, so that the defaults run on a 50 ohm bias tee
MIN_STEP_VOLTS = 0.06


class Bandwidth(Sequence):
    name = "bandwidth"
    summary = "small-signal modulation bandwidth per bias: f3db, f3db_optical, lifetime, RC"
    results = {
        "f3db": Result("Hz", "frequency where the measured |H|, normalised to its fitted "
                       "low-frequency level, falls to 1/sqrt 2 (|S21| down 3 dB), at the highest "
                       "bias; every bias in f3db_per_bias (Rajbhandari et al., Semicond. Sci. "
                       "Technol. 32, 023001 (2017))", AT_BIAS),
        "f3db_optical": Result("Hz", "the same where |H| falls to 1/2 (optical -3 dB, electrical "
                               "-6 dB); every bias in f3db_optical_per_bias (Rajbhandari 2017)",
                               AT_BIAS),
        "differential_lifetime": Result("s", "tau of the fit |H|^2 = G / ((1 + (w tau)^2)(1 + "
                                        "(w RC)^2)) at the highest bias; every bias in "
                                        "differential_lifetime_per_bias (Coldren, Corzine, "
                                        "Mashanovitch, Diode Lasers and PICs, 2nd ed., ch. 5)",
                                        AT_BIAS),
        "rc_time_constant": Result("s", "RC of the same fit, one pole shared by every bias"),
        "fit_rms": Result("dB", "rms residual of that fit, dB of |H|^2"),
    }
    roles = {"smu": CurrentSource}
    optional_roles = {"network_analyzer": NetworkAnalyzer,
                      "pattern_generator": PatternGenerator, "oscilloscope": Oscilloscope}
    parameters = {
        "bias_currents": Parameter([1e-3, 2e-3, 5e-3], "A", "DC bias currents", kind=list,
                                   minimum=0.0),
        "method": Parameter("auto", "", "vna, step (scope), or auto: the VNA when the station "
                            "has one", kind=str, choices=("auto", "vna", "step")),
        "start": Parameter(1e6, "Hz", "VNA start frequency", minimum=0.0),
        "stop": Parameter(3e9, "Hz", "VNA stop frequency", minimum=0.0),
        "points": Parameter(201, "", "VNA points (log sweep)", kind=int, minimum=11,
                            maximum=20001),
        "if_bandwidth": Parameter(1e3, "Hz", "VNA IF bandwidth", minimum=0.0),
        "power": Parameter(None, "dBm", "VNA source power; default (null): the whole dBm "
                           f"giving at most {AUTO_AMPLITUDE:g} x the lowest bias in amplitude"),
        "vna_averaging": Parameter(1, "", "VNA sweeps averaged", kind=int, minimum=1),
        "modulation_depth": Parameter(0.2, "", "step path: peak-to-peak step / bias",
                                      minimum=0.0, maximum=1.0),
        **step_parameters("step path: "),
        "averaging": Parameter(16, "", "step path: scope averages per record", kind=int,
                               minimum=1, maximum=65534),
        **smu_parameters("wait after each bias change"),
    }
    columns = {"bias_current": "A", "current": "A", "voltage": "V"}
    derived_axes = {
        **{f"{name}_per_bias": {"axis": "current_density"} for name in
           ("f3db", "f3db_optical", "differential_lifetime", "low_frequency_gain")},
        "normalised_power_gain": {"rows": "bias_current", "axis": "response_frequency"}}

    @classmethod
    def check_limits(cls, params, limits):
        for bias in params["bias_currents"]:
            limits.check_current(bias, "bias current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")
        if params["method"] == "step":  # "auto" may use the VNA: its guard checks the power
            for bias in params["bias_currents"]:  # the step at least its minimum (below)
                check_modulation(bias, params["modulation_depth"] * bias, limits)

    @classmethod
    def planned_points(cls, params):
        return len(params["bias_currents"])

    @classmethod
    def plan(cls, params, sample, setup, models):
        requests = {"smu": smu_request(max(params["bias_currents"]), params)}
        if cls.uses_vna(params["method"], set(models)):
            vna = models["network_analyzer"]
            power, _ = cls.vna_power(params, setup, vna.source_impedance)
            requests["network_analyzer"] = {
                "start": params["start"], "stop": params["stop"], "points": params["points"],
                "if_bandwidth": params["if_bandwidth"], "power": power,
                "averaging": params["vna_averaging"]}
            return requests
        run_time = params["run_bits"] / params["bit_rate"]
        top = max(params["bias_currents"])
        requests["pattern_generator"] = generator_request(
            models["pattern_generator"], setup,
            cls.step_current(params, top, modulation_circuit(models["pattern_generator"], setup)),
            params["bit_rate"], 2 * params["run_bits"])
        requests["oscilloscope"] = scope_request(setup, span=RECORD_RUNS * run_time,
                                                 sample_rate=params["sample_rate"],
                                                 averaging=params["averaging"])
        return requests

    # -- acquisition ---------------------------------------------------------------------------
    def acquire(self, ctx, params):
        use_vna = self._use_vna(ctx, params["method"])
        if not use_vna:
            check_bit_rate(ctx.role("pattern_generator"), params["bit_rate"])
        setup = ctx.setup
        store_setup(ctx, setup)
        smu = ctx.role("smu")
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"])
        try:
            if use_vna:
                self._sweep_vna(ctx, params, smu, setup)
            else:
                self._step_responses(ctx, params, smu, setup)
        finally:
            smu.output_off()

    @staticmethod
    def uses_vna(method: str, roles: set[str]) -> bool:
        """Whether the VNA path runs, given the roles the station fills; ConfigError when the
        chosen path lacks its instruments."""
        has_scope = {"pattern_generator", "oscilloscope"} <= roles
        if method == "vna" or (method == "auto" and "network_analyzer" in roles):
            if "network_analyzer" not in roles:
                raise ConfigError("bandwidth method vna needs a network_analyzer")
            return True
        if not has_scope:
            raise ConfigError(
                "bandwidth method step needs a pattern_generator and an oscilloscope"
                if method == "step" else "bandwidth needs a network_analyzer, or a "
                "pattern_generator and an oscilloscope (step response); the station has neither")
        return False

    @classmethod
    def _use_vna(cls, ctx, method: str) -> bool:
        roles = {role for role in cls.optional_roles if ctx.has_role(role)}
        return cls.uses_vna(method, roles)

    @staticmethod
    def step_current(params, bias: float, circuit: DriveCircuit) -> float:
        """The step path's peak-to-peak step at a bias (A): ``modulation_depth`` x bias, at least
        what ``MIN_STEP_VOLTS`` drives through the circuit."""
        return max(params["modulation_depth"] * bias, circuit.current(MIN_STEP_VOLTS))

    @staticmethod
    def vna_power(params, setup, source_impedance: float) -> tuple[float, float]:
        """(port power dBm, chip current amplitude A) of the VNA path: the given ``power``, or
        the default one (the whole dBm below ``AUTO_AMPLITUDE`` x the lowest bias) through the
        real drive circuit (:class:`common.passive.DriveCircuit`). ConfigError when the
        amplitude is more than ``SMALL_SIGNAL`` of the lowest bias (not small-signal)."""
        circuit = DriveCircuit(source_impedance, setup.bias_tee.modulation_impedance)
        lowest = min(params["bias_currents"])
        if lowest <= 0:
            raise ConfigError("bandwidth with a VNA needs every bias current > 0 (small-signal "
                              "modulation around a bias)")
        power = params["power"]
        if power is None:
            power = float(math.floor(circuit.power_for_amplitude(AUTO_AMPLITUDE * lowest)))
        amplitude = circuit.sine_amplitude(power)
        if amplitude > SMALL_SIGNAL * lowest:
            raise ConfigError(f"VNA power {power:g} dBm gives a modulation of "
                              f"{amplitude:.3g} A amplitude, more than {SMALL_SIGNAL:g} of the "
                              f"lowest bias {lowest:g} A (not small-signal); lower the power")
        return power, amplitude

    def _sweep_vna(self, ctx, params, smu, setup) -> None:
        vna = ctx.role("network_analyzer")
        power, _ = self.vna_power(params, setup, vna.source_impedance)
        try:
            vna.configure_s21(start=params["start"], stop=params["stop"],
                              points=params["points"], if_bandwidth=params["if_bandwidth"],
                              power=power, averaging=params["vna_averaging"],
                              log_sweep=True)
        except ValueError as exc:
            raise ConfigError(f"the network analyser refuses the sweep: {exc}") from None
        traces, frequency = [], None
        smu.output_on()
        try:
            for bias in params["bias_currents"]:
                smu.set_current(bias)
                ctx.sleep(params["settle"])
                vna.output_on()
                frequency, s21 = vna.measure_s21()
                vna.output_off()
                try:
                    voltage, current = smu.measure()
                except ComplianceReached as exc:
                    stop_at_compliance(ctx, params, exc.level, "bias current")
                    break
                traces.append(s21)
                ctx.points(bias_current=bias, current=current, voltage=voltage)
        finally:
            vna.output_off()
        ctx.array("frequency", np.asarray(frequency, dtype=float), "Hz")
        ctx.array("s21", np.array(traces, dtype=complex), "", rows="bias_current",
                  axis="frequency", note="complex S21 as measured, photoreceiver included")

    def _step_responses(self, ctx, params, smu, setup) -> None:
        generator, scope = ctx.role("pattern_generator"), ctx.role("oscilloscope")
        run_time = params["run_bits"] / params["bit_rate"]
        wiring = setup.oscilloscope
        drive, optical = [], []
        generator.set_bit_rate(params["bit_rate"])
        generator.set_pattern(square_pattern(params["run_bits"]))
        smu.output_on()
        try:
            for bias in params["bias_currents"]:
                generator.output_off()
                smu.set_current(bias)
                ctx.sleep(params["settle"])
                step = self.step_current(params, bias, modulation_circuit(generator, setup))
                high, low = set_modulation(generator, step, setup)
                generator.output_on()
                configure_capture(scope, setup, high=high, low=low,
                                  span=RECORD_RUNS * run_time, before=0.15 * run_time,
                                  sample_rate=params["sample_rate"])
                scope.set_averaging(1)
                autoscale(scope, wiring.optical_channel)
                scope.set_averaging(params["averaging"])
                scope.acquire()
                records = (scope.fetch_waveform(wiring.drive_channel),
                           scope.fetch_waveform(wiring.optical_channel))
                try:
                    voltage, current = smu.measure()
                except ComplianceReached as exc:
                    stop_at_compliance(ctx, params, exc.level, "bias current")
                    break
                drive.append(records[0])
                optical.append(records[1])
                ctx.points(bias_current=bias, current=current, voltage=voltage)
        finally:
            generator.output_off()
        store_records(ctx, "drive", drive, rows="bias_current")
        store_records(ctx, "optical", optical, rows="bias_current")

    # -- analysis ------------------------------------------------------------------------------
    @classmethod
    def power_gain(cls, data, params) -> tuple[np.ndarray, np.ndarray]:
        """(frequency, |H|^2 per bias) of the chip, photoreceiver pole removed."""
        f_rx = float(data["receiver_bandwidth"])
        if "s21" in data:
            frequency = np.asarray(data["frequency"], dtype=float)
            return frequency, np.abs(da.deembed_pole(frequency, data["s21"], f_rx)) ** 2
        t_drive, drive = record_volts(data, "drive")
        t_opt, optical = record_volts(data, "optical")
        responses = [da.edge_frequency_response(
            t_drive[k], drive[k], on_common_time(t_drive[k], drive[k], t_opt[k], optical[k]))
            for k in range(drive.shape[0])]
        run_time = params["run_bits"] / params["bit_rate"]
        f_max = min(r.frequency[-1] for r in responses)
        bands = [da.band_power_gain(r, f_rx, 1 / run_time, f_max) for r in responses]
        return bands[0][0], np.array([b[1] for b in bands])

    @classmethod
    def per_bias(cls, data, params) -> tuple[np.ndarray, np.ndarray, da.BandwidthResult]:
        """(measured bias currents, response frequency axis, bandwidth figures per bias)."""
        frequency, gain = cls.power_gain(data, params)
        return np.asarray(data["current"], dtype=float), frequency, \
            da.bandwidth_from_power_gain(frequency, gain)

    @classmethod
    def analyse(cls, data, params, sample):
        current, frequency, result = cls.per_bias(data, params)
        per_bias = {"f3db": (result.f3db, "Hz"), "f3db_optical": (result.f3db_optical, "Hz"),
                    "differential_lifetime": (result.fit.lifetime, "s")}
        top = int(np.argmax(current))
        density = current_density(current, sample.diameter)
        at_top = {"bias_current": (float(current[top]), "A"),
                  "current_density": (float(density[top]), "A/m^2")}
        figures = {name: (float(values[top]), units, at_top)
                   for name, (values, units) in per_bias.items()}
        figures["rc_time_constant"] = (float(result.fit.rc_time), "s")
        figures["fit_rms"] = (float(result.fit.rms_db), "dB")
        # derived arrays: the figures at every bias, and the normalised responses
        per_bias["low_frequency_gain"] = (result.fit.gain, "")
        figures.update({f"{name}_per_bias": (np.asarray(values, dtype=float), units)
                        for name, (values, units) in per_bias.items()})
        figures["bias_current"] = (current, "A")
        figures["current_density"] = (density, "A/m^2")
        figures["response_frequency"] = (np.asarray(frequency, dtype=float), "Hz")
        figures["normalised_power_gain"] = (result.normalised, "")
        compliance_figure(data, figures)
        return figures
