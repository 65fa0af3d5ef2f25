"""``eye``: NRZ PRBS eye diagram of the chip's light, its figures, and the energy per bit.

The SMU holds the bias; the pattern generator adds a PRBS 2^n - 1 of ``modulation_current`` peak to
peak through the bias tee at ``bit_rate``. The scope records the optical channel single shot
(triggered on the drive), ``acquisitions`` records of ``record_bits`` bits. Each record is folded
at the bit period on its own recovered clock (:func:`dynamic_analysis.fold_eye`); the pooled samples
give eye height, eye width, extinction ratio (also in dB), Q and the Gaussian BER estimate
(:func:`dynamic_analysis.eye_figures`), each with its conditions: the bit rate, the bias the SMU
measured during the pattern and the modulation current. The eye diagram itself is a derived array:
``eye_histogram``, sample counts (voltage bins x time bins, :func:`dynamic_analysis.eye_histogram`)
on the bin centres ``eye_voltage`` and ``eye_time`` (crossings at 0 and 1 UI).

Energy per bit (:func:`dynamic_analysis.energy_per_bit`): E_b = (V_b I_b + R_d p (1 - p) dI^2) / B,
with V_b, I_b the SMU's reading during modulation, R_d the chip's differential resistance measured
by the SMU just before (the secant between bias -/+ dI/2, kept inside [bias/2, max_current]), dI
the modulation and p the PRBS mark density.
"""

from __future__ import annotations

import math

import numpy as np

from common.errors import ConfigError
from drivers.roles import CurrentSource, Oscilloscope, PatternGenerator

from . import dynamic_analysis as da
from .base import Parameter, Result, Sequence, smu_parameters
from .pulse_response import (
    autoscale,
    check_bit_rate,
    check_modulation,
    configure_capture,
    generator_request,
    record_volts,
    scope_request,
    set_modulation,
    smu_request,
    store_records,
    store_setup,
)

# what every eye figure belongs to: the bit rate, the SMU's bias (as measured during the
# pattern) and the peak-to-peak modulation asked of the bias tee path
EYE_CONDITIONS = ("bit_rate", "bias_current", "modulation_current")


class Eye(Sequence):
    name = "eye"
    summary = "NRZ PRBS eye: height, width, extinction ratio, Q, BER estimate, energy per bit"
    results = {
        "eye_height": Result("V", "(mu1 - 3 s1) - (mu0 + 3 s0) of the ones and zeros in the eye's "
                             "central window, photoreceiver volts (Keysight Infiniium eye "
                             "height)", EYE_CONDITIONS),
        "eye_width": Result("s", "T - 6 s_t, s_t the spread of the threshold-crossing times "
                            "(Infiniium eye width)", EYE_CONDITIONS),
        "extinction_ratio": Result("", "P1 / P0 = mu1 / mu0 of the levels in the central window "
                                   "(Agrawal, Fiber-Optic Communication Systems, 4th ed., 4.5; "
                                   "IEEE 802.3 cl. 52.9)", EYE_CONDITIONS),
        "extinction_ratio_db": Result("dB", "10 log10(P1 / P0), the extinction ratio in dB",
                                      EYE_CONDITIONS),
        "q_factor": Result("", "(mu1 - mu0) / (s1 + s0) (Agrawal 4.5)", EYE_CONDITIONS),
        "ber_estimate": Result("", "1/2 erfc(Q / sqrt 2), Gaussian noise on both levels "
                               "(Agrawal 4.5)", EYE_CONDITIONS),
        "energy_per_bit": Result("J", "(V_b I_b + R_d p (1 - p) dI^2) / B: SMU bias reading, "
                                 "differential resistance, PRBS mark density p, modulation dI, "
                                 "bit rate B", EYE_CONDITIONS),
        "electrical_power": Result("W", "V_b I_b + R_d p (1 - p) dI^2, energy_per_bit x B",
                                   EYE_CONDITIONS),
        "differential_resistance": Result("ohm", "R_d = dV/dI of the SMU's secant between bias "
                                          "-/+ dI/2 (within [bias/2, max_current]); its "
                                          "bias_current is the secant's midpoint",
                                          ("bias_current",)),
    }
    roles = {"smu": CurrentSource, "pattern_generator": PatternGenerator,
             "oscilloscope": Oscilloscope}
    parameters = {
        # defaults: an open eye on the built-in 20 um chip (f3db ~ 0.3 GHz at 5 mA)
        "bit_rate": Parameter(1e9, "b/s", "NRZ bit rate", minimum=0.0),
        "prbs_order": Parameter(7, "", "PRBS 2^n - 1", kind=int, choices=(7, 9, 10, 11, 15)),
        "bias_current": Parameter(5e-3, "A", "DC bias from the SMU", minimum=0.0),
        "modulation_current": Parameter(4e-3, "A", "peak-to-peak modulation through the bias tee",
                                        minimum=0.0),
        "record_bits": Parameter(1000, "", "bits per scope record", kind=int, minimum=16,
                                 maximum=10_000_000),
        "acquisitions": Parameter(4, "", "scope records pooled into the eye", kind=int,
                                  minimum=1, maximum=10_000),
        "sample_rate": Parameter(16e9, "Sa/s", "scope sample rate", minimum=0.0),
        "time_bins": Parameter(100, "", "eye diagram bins per unit interval", kind=int,
                               minimum=4, maximum=10_000),
        "voltage_bins": Parameter(100, "", "eye diagram voltage bins", kind=int, minimum=4,
                                  maximum=10_000),
        "window": Parameter(0.2, "UI", "central part of the eye where the levels are taken",
                            minimum=0.01, maximum=1.0),
        **smu_parameters("wait after each bias change"),
    }
    columns = {"current": "A", "voltage": "V"}
    derived_axes = {"eye_histogram": {"axes": ["eye_voltage", "eye_time"]}}

    @classmethod
    def check_limits(cls, params, limits):
        if params["bias_current"] <= 0:
            raise ConfigError("eye: bias_current must be positive (the chip must emit)")
        limits.check_current(params["bias_current"], "bias_current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")
        check_modulation(params["bias_current"], params["modulation_current"], limits)

    @classmethod
    def plan(cls, params, sample, setup, models):
        return {"smu": smu_request(params["bias_current"], params),
                "pattern_generator": {**generator_request(
                    models["pattern_generator"], setup, params["modulation_current"],
                    params["bit_rate"], 2 ** params["prbs_order"] - 1),
                    "prbs_order": params["prbs_order"]},
                "oscilloscope": scope_request(
                    setup, span=params["record_bits"] / params["bit_rate"],
                    sample_rate=params["sample_rate"], averaging=1)}

    @staticmethod
    def resistance_currents(params, max_current: float) -> tuple[float, float]:
        """The two DC currents of the R_d secant: bias -/+ dI/2, within [bias/2, max_current]."""
        bias, half = params["bias_current"], params["modulation_current"] / 2
        return max(bias - half, bias / 2), min(bias + half, max_current)

    def acquire(self, ctx, params):
        smu, generator = ctx.role("smu"), ctx.role("pattern_generator")
        scope = ctx.role("oscilloscope")
        check_bit_rate(generator, params["bit_rate"])
        setup = ctx.setup
        store_setup(ctx, setup)
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"])
        records = []
        try:
            smu.output_on()
            secant = []
            for level in self.resistance_currents(params, ctx.limits.max_current):
                smu.set_current(level)
                ctx.sleep(params["settle"])
                secant.append(smu.measure())
            smu.set_current(params["bias_current"])
            ctx.sleep(params["settle"])
            generator.set_bit_rate(params["bit_rate"])
            generator.set_prbs(params["prbs_order"])
            high, low = set_modulation(generator, params["modulation_current"], setup)
            generator.output_on()
            configure_capture(scope, setup, high=high, low=low,
                              span=params["record_bits"] / params["bit_rate"], before=0.0,
                              sample_rate=params["sample_rate"])
            scope.set_averaging(1)
            autoscale(scope, setup.oscilloscope.optical_channel)
            for _ in range(params["acquisitions"]):
                scope.acquire()
                records.append(scope.fetch_waveform(setup.oscilloscope.optical_channel))
            voltage, current = smu.measure()
            ctx.points(current=current, voltage=voltage)
        finally:
            generator.output_off()
            smu.output_off()
        ctx.array("secant_voltage", np.array([v for v, _ in secant]), "V",
                  note="SMU readings for the differential resistance")
        ctx.array("secant_current", np.array([i for _, i in secant]), "A")
        store_records(ctx, "optical", records, rows="acquisition")

    @staticmethod
    def fold(data, params) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Pooled (phase UI, volts, crossing deviation s) of every record, and the decision
        threshold (midway between the two levels)."""
        time, volts = record_volts(data, "optical")
        low, high = da.two_level(volts)
        threshold = (low + high) / 2
        period = 1 / params["bit_rate"]
        folded = [da.fold_eye(time[k], volts[k], period, threshold) for k in range(len(volts))]
        return (np.concatenate([f[0] for f in folded]), volts.ravel(),
                np.concatenate([f[1] for f in folded]), threshold)

    @classmethod
    def analyse(cls, data, params, sample):
        phase, volts, deviation, threshold = cls.fold(data, params)
        eye = da.eye_figures(phase, volts, deviation, 1 / params["bit_rate"], threshold,
                             window=params["window"])
        counts, times, voltages = da.eye_histogram(
            phase, volts, 1 / params["bit_rate"], time_bins=params["time_bins"],
            voltage_bins=params["voltage_bins"])
        secant_v, secant_i = data["secant_voltage"], data["secant_current"]
        resistance = float((secant_v[1] - secant_v[0]) / (secant_i[1] - secant_i[0]))
        voltage, current = float(np.mean(data["voltage"])), float(np.mean(data["current"]))
        energy = da.energy_per_bit(voltage, current, resistance, params["modulation_current"],
                                   da.prbs_mark_density(params["prbs_order"]),
                                   params["bit_rate"])
        at = {"bit_rate": (params["bit_rate"], "1/s"), "bias_current": (current, "A"),
              "modulation_current": (params["modulation_current"], "A")}
        extinction = eye["extinction_ratio"]
        return {"eye_height": (eye["eye_height"], "V", at),
                "eye_width": (eye["eye_width"], "s", at),
                "extinction_ratio": (extinction, "", at),
                "extinction_ratio_db": (10 * math.log10(extinction), "dB", at),
                "q_factor": (eye["q_factor"], "", at),
                "ber_estimate": (eye["ber_estimate"], "", at),
                "energy_per_bit": (energy, "J", at),
                "electrical_power": (energy * params["bit_rate"], "W", at),
                "differential_resistance": (resistance, "ohm", {
                    "bias_current": (float(np.mean(secant_i)), "A")}),
                "eye_time": (times, "s"), "eye_voltage": (voltages, "V"),
                "eye_histogram": (counts, "")}
