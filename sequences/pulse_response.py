"""``pulse-response``: rise, fall and propagation delay of the chip's light on a current step.

The SMU holds the DC bias; the pattern generator adds, through the bias tee, a square current of
``modulation_current`` peak to peak (long runs of ones and zeros, so each edge settles). The scope
records the generator's voltage (drive channel, the trigger) and the photoreceiver's output
(optical channel) in the same acquisition, ``acquisitions`` times. Each record gives the 10-90 %
times and the 50 %-to-50 % delay of every complete edge (:func:`dynamic_analysis.edge_timings`).

De-embedding (SI, from the station's ``setup:``): the measured delay minus the set-up's own skew
between the channels, drive_delay + photoreceiver.delay + receiver_delay - monitor_delay, minus the
receiver pole's group delay 1 / (2 pi f_rx); rise and fall times have the receiver's 0.35 / f_rx
and the drive edge's own 10-90 % time removed in quadrature [Johnson ch. 2].

The helpers here (set-up, bit-rate check, scope capture, record storage) serve the other
scope-based sequences too (``bandwidth`` on the step path, ``eye``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from common.errors import ConfigError
from common.passive import DriveCircuit, Setup
from drivers.roles import CurrentSource, Oscilloscope, PatternGenerator, Waveform

from . import dynamic_analysis as da
from .base import Parameter, Result, Sequence, smu_parameters

RECORD_RUNS = 2.2  # a step record spans this many runs: a rise and a fall, both settled
_SCREEN_DIVISIONS = 8  # vertical divisions of the scope screen (Infiniium)


# -- helpers shared by the scope-based sequences --------------------------------------------------
def check_bit_rate(generator, bit_rate: float) -> None:
    """Refuse a bit rate outside the generator's stated range, before anything is sent."""
    if bit_rate > generator.max_bit_rate:
        raise ConfigError(f"bit rate {bit_rate:g} b/s is above the pattern generator's "
                          f"max_bit_rate {generator.max_bit_rate:g} b/s")
    if bit_rate < generator.min_bit_rate:
        raise ConfigError(f"bit rate {bit_rate:g} b/s is below the pattern generator's "
                          f"min_bit_rate {generator.min_bit_rate:g} b/s")


def modulation_circuit(generator, setup: Setup) -> DriveCircuit:
    """The generator's drive circuit into the bias tee (its source impedance, the tee's path)."""
    return DriveCircuit(generator.source_impedance, setup.bias_tee.modulation_impedance)


def set_modulation(generator, modulation_current: float, setup: Setup) -> tuple[float, float]:
    """Program the generator for a peak-to-peak chip current; returns its (high, low) levels.

    The levels come from the real drive circuit (:meth:`common.passive.DriveCircuit.levels`:
    EMF twice the level into R_source + Z), quantised down to the generator's level resolution,
    so the chip gets the current asked for, never more. The guard refuses a peak beyond the
    sample's limits (LimitError); a swing outside the generator's own range is refused as a
    ConfigError naming both."""
    circuit = modulation_circuit(generator, setup)
    high, low = circuit.levels(modulation_current, generator.level_resolution)
    if not high > low:
        raise ConfigError(f"a modulation of {modulation_current:g} A peak to peak is below the "
                          f"generator's level resolution {generator.level_resolution:g} V "
                          f"through {circuit.loop_impedance:g} ohm")
    try:
        generator.set_levels(high=high, low=low)
    except ValueError as exc:
        raise ConfigError(f"a modulation of {modulation_current:g} A peak to peak needs a "
                          f"{high - low:g} V swing into {circuit.loop_impedance:g} ohm "
                          f"(source + bias tee); the generator refuses it: {exc}") from None
    return high, low


def generator_request(generator, setup: Setup, modulation_current: float, bit_rate: float,
                      pattern_bits: int) -> dict[str, Any]:
    """The pattern generator's ``check_plan`` request for a modulation (levels as
    :func:`set_modulation` will program them); ConfigError for a bit rate outside the model's
    range."""
    check_bit_rate(generator, bit_rate)
    high, low = modulation_circuit(generator, setup).levels(modulation_current,
                                                            generator.level_resolution)
    return {"high": high, "low": low, "bit_rate": bit_rate, "pattern_bits": pattern_bits}


def scope_request(setup: Setup, *, span: float, sample_rate: float,
                  averaging: int) -> dict[str, Any]:
    """The oscilloscope's ``check_plan`` request for a capture of ``span`` seconds."""
    wiring = setup.oscilloscope
    return {"sample_rate": sample_rate, "points": int(math.ceil(span * sample_rate)),
            "averaging": averaging, "channels": [wiring.optical_channel, wiring.drive_channel]}


def smu_request(bias: float, params: dict[str, Any]) -> dict[str, Any]:
    """The SMU's ``check_plan`` request of a biasing sequence."""
    return {"current": bias, "voltage": params["voltage_limit"], "nplc": params["nplc"]}


def check_modulation(bias: float, modulation_current: float, limits) -> None:
    """Refuse, before anything is sent, a modulation whose peak (bias + the whole swing, as the
    pattern guard counts it) exceeds the sample's limits: above max_current it is pulsed
    operation at 50 % duty, within max_pulse_current and max_duty_cycle."""
    peak = bias + modulation_current
    limits.check_pulse(peak, 0.5 if peak > limits.max_current else 0.0)


def square_pattern(run_bits: int) -> np.ndarray:
    """``run_bits`` ones then ``run_bits`` zeros."""
    return np.concatenate([np.ones(run_bits, dtype=np.int8), np.zeros(run_bits, dtype=np.int8)])


def configure_capture(scope, setup: Setup, *, high: float, low: float, span: float,
                      before: float, sample_rate: float) -> None:
    """Drive channel scaled to the generator's levels and used as the rising-edge trigger; a
    record of ``span`` seconds starting ``before`` seconds ahead of the trigger."""
    wiring = setup.oscilloscope
    try:
        scope.configure_channel(wiring.drive_channel, scale=(high - low) / 6,
                                offset=(high + low) / 2, impedance="50")
        scope.configure_timebase(scale=span / 10, position=span / 2 - before,
                                 sample_rate=sample_rate,
                                 points=int(math.ceil(span * sample_rate)))
        scope.configure_edge_trigger(channel=wiring.drive_channel, level=(high + low) / 2,
                                     slope="rising")
    except ValueError as exc:
        raise ConfigError(f"the oscilloscope refuses the capture ({span:g} s at "
                          f"{sample_rate:g} Sa/s): {exc}") from None


def autoscale(scope, channel: int, *, attempts: int = 8) -> None:
    """Fit the channel's vertical range to its signal: 6 of the 8 divisions, centred; a record
    touching the screen's edge (clipped) widens the range four-fold and tries again."""

    def configure(scale: float, offset: float) -> None:
        try:
            scope.configure_channel(channel, scale=scale, offset=offset, impedance="50")
        except ValueError as exc:
            raise ConfigError(f"the optical signal does not fit channel {channel}'s range: "
                              f"{exc}") from None

    scale, offset = 0.25, 0.75
    for _ in range(attempts):
        configure(scale, offset)
        scope.acquire()
        volts = scope.fetch_waveform(channel).volts
        half = _SCREEN_DIVISIONS / 2 * scale
        lo, hi = float(volts.min()), float(volts.max())
        if hi >= offset + 0.99 * half or lo <= offset - 0.99 * half:
            scale, offset = scale * 4, (lo + hi) / 2
            continue
        fitted = max((hi - lo) / 6, 1e-3)
        if fitted >= 0.6 * scale:
            return
        scale, offset = fitted, (lo + hi) / 2
    configure(scale, offset)


def preamble_row(waveform: Waveform) -> list[float]:
    return [float(getattr(waveform, name)) for name in da.PREAMBLE_FIELDS]


def store_records(ctx, prefix: str, records: list[Waveform], rows: str) -> None:
    """Store scope records as ``<prefix>_codes`` (records x points, the integers as sent) and
    ``<prefix>_preamble`` (their scaling, one row per record)."""
    codes = np.stack([w.codes for w in records])
    conversion = ("volts = (codes - y_reference) * y_increment + y_origin; "
                  "time = (index - x_reference) * x_increment + x_origin; "
                  f"scaling per row in {prefix}_preamble")
    ctx.array(f"{prefix}_codes", codes, "", rows=rows, conversion=conversion,
              scaled_units="V")
    ctx.array(f"{prefix}_preamble", np.array([preamble_row(w) for w in records]), "",
              columns=list(da.PREAMBLE_FIELDS), column_units=["s", "s", "", "V", "V", ""])


def record_volts(data, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    """(time, volts) of every stored record, each records x points."""
    codes, preamble = data[f"{prefix}_codes"], data[f"{prefix}_preamble"]
    return (da.waveform_time(codes.shape[-1], preamble), da.waveform_volts(codes, preamble))


def on_common_time(time_a, values_a, time_b, values_b) -> np.ndarray:
    """``values_b`` on ``time_a`` (linear interpolation) when the channels' axes differ."""
    if time_a.shape == time_b.shape and np.allclose(time_a, time_b, rtol=0, atol=1e-15):
        return values_b
    return np.interp(time_a, time_b, values_b)


def store_setup(ctx, setup: Setup) -> None:
    """The set-up figures the analysis needs, as 0-d arrays (analyse sees only stored data)."""
    ctx.array("receiver_bandwidth", np.float64(setup.photoreceiver.bandwidth), "Hz")
    ctx.array("setup_skew", np.float64(setup.drive_to_optical_skew), "s",
              formula="drive_delay + photoreceiver.delay + receiver_delay - monitor_delay")


# -- the sequence ---------------------------------------------------------------------------------
def step_parameters(prefix: str) -> dict[str, Parameter]:
    """The current step as the generator makes it and the scope records it (shared with the
    scope path of ``bandwidth``); ``prefix`` heads each description."""
    return {
        "bit_rate": Parameter(2e9, "b/s", f"{prefix}generator bit rate", minimum=0.0),
        "run_bits": Parameter(128, "", f"{prefix}ones (then zeros) per run; a run must let the "
                              "light settle", kind=int, minimum=1, maximum=100_000),
        "sample_rate": Parameter(10e9, "Sa/s", f"{prefix}scope sample rate", minimum=0.0),
    }


# what every step figure belongs to: the SMU's bias (as measured during the steps) and the
# peak-to-peak step asked of the bias tee path
AT_STEP = ("bias_current", "modulation_current")


class PulseResponse(Sequence):
    name = "pulse-response"
    summary = "rise/fall time (10-90 %) and propagation delay of the light on a current step"
    results = {
        "rise_time": Result("s", "mean over the records of the light's 10-90 % rise on the "
                            "drive's rising edges, the drive edge and the photoreceiver (0.35 / "
                            "f_rx) removed in quadrature (Johnson & Graham, High-Speed Digital "
                            "Design, ch. 1-2)", AT_STEP),
        "rise_time_std": Result("s", "standard deviation of rise_time over the records",
                                AT_STEP),
        "fall_time": Result("s", "the same on the falling edges (90-10 %)", AT_STEP),
        "fall_time_std": Result("s", "standard deviation of fall_time over the records",
                                AT_STEP),
        "propagation_delay": Result("s", "light 50 % minus drive 50 % crossing on the rising "
                                    "edges, less the set-up's skew and the photoreceiver's "
                                    "1 / (2 pi f_rx)", AT_STEP),
        "propagation_delay_std": Result("s", "standard deviation of propagation_delay over the "
                                        "records", AT_STEP),
    }
    roles = {"smu": CurrentSource, "pattern_generator": PatternGenerator,
             "oscilloscope": Oscilloscope}
    parameters = {
        "bias_current": Parameter(5e-3, "A", "DC bias from the SMU", minimum=0.0),
        "modulation_current": Parameter(1e-3, "A", "peak-to-peak step through the bias tee",
                                        minimum=0.0),
        **step_parameters(""),
        "acquisitions": Parameter(8, "", "records analysed (mean and spread)", kind=int,
                                  minimum=1, maximum=10_000),
        "averaging": Parameter(1, "", "scope averages per record (1 = single shot)", kind=int,
                               minimum=1, maximum=65534),
        **smu_parameters("wait after the bias is set"),
    }
    columns = {"current": "A", "voltage": "V"}

    @classmethod
    def check_limits(cls, params, limits):
        limits.check_current(params["bias_current"], "bias_current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")
        check_modulation(params["bias_current"], params["modulation_current"], limits)

    @classmethod
    def planned_points(cls, params):
        return 1

    @classmethod
    def plan(cls, params, sample, setup, models):
        run_time = params["run_bits"] / params["bit_rate"]
        return {"smu": smu_request(params["bias_current"], params),
                "pattern_generator": generator_request(
                    models["pattern_generator"], setup, params["modulation_current"],
                    params["bit_rate"], 2 * params["run_bits"]),
                "oscilloscope": scope_request(setup, span=RECORD_RUNS * run_time,
                                              sample_rate=params["sample_rate"],
                                              averaging=params["averaging"])}

    def acquire(self, ctx, params):
        smu, generator = ctx.role("smu"), ctx.role("pattern_generator")
        scope = ctx.role("oscilloscope")
        check_bit_rate(generator, params["bit_rate"])
        setup = ctx.setup
        run_time = params["run_bits"] / params["bit_rate"]
        store_setup(ctx, setup)
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"])
        try:
            smu.output_on()
            smu.set_current(params["bias_current"])
            ctx.sleep(params["settle"])
            generator.set_bit_rate(params["bit_rate"])
            generator.set_pattern(square_pattern(params["run_bits"]))
            high, low = set_modulation(generator, params["modulation_current"], setup)
            generator.output_on()
            configure_capture(scope, setup, high=high, low=low, span=RECORD_RUNS * run_time,
                              before=0.15 * run_time, sample_rate=params["sample_rate"])
            scope.set_averaging(1)
            autoscale(scope, setup.oscilloscope.optical_channel)
            scope.set_averaging(params["averaging"])
            drive, optical = [], []
            for _ in range(params["acquisitions"]):
                scope.acquire()
                drive.append(scope.fetch_waveform(setup.oscilloscope.drive_channel))
                optical.append(scope.fetch_waveform(setup.oscilloscope.optical_channel))
            voltage, current = smu.measure()
            ctx.points(current=current, voltage=voltage)
        finally:
            generator.output_off()
            smu.output_off()
        store_records(ctx, "drive", drive, rows="acquisition")
        store_records(ctx, "optical", optical, rows="acquisition")

    @classmethod
    def analyse(cls, data, params, sample):
        t_drive, drive = record_volts(data, "drive")
        t_opt, optical = record_volts(data, "optical")
        f_rx = float(data["receiver_bandwidth"])
        timings = {key: [] for key in ("rise_time", "fall_time", "propagation_delay")}
        for k in range(drive.shape[0]):
            y = on_common_time(t_drive[k], drive[k], t_opt[k], optical[k])
            edges = da.edge_timings(t_drive[k], drive[k], y)
            if not edges["rise_time"].size or not edges["fall_time"].size:
                raise ValueError(f"record {k} holds no complete rising and falling edge")
            receiver_rise = da.RISE_TIME_BANDWIDTH / f_rx
            timings["rise_time"].append(np.mean(da.deembed_rise_time(
                edges["rise_time"], edges["drive_rise_time"], receiver_rise)))
            timings["fall_time"].append(np.mean(da.deembed_rise_time(
                edges["fall_time"], edges["drive_fall_time"], receiver_rise)))
            timings["propagation_delay"].append(
                np.mean(edges["rise_delay"]) - float(data["setup_skew"])
                - 1 / (2 * np.pi * f_rx))
        at = {"bias_current": (float(np.mean(data["current"])), "A"),
              "modulation_current": (params["modulation_current"], "A")}
        figures = {}
        for name, values in timings.items():
            values = np.array(values)
            figures[name] = (float(np.mean(values)), "s", at)
            figures[f"{name}_std"] = (float(np.std(values, ddof=1)) if values.size > 1
                                      else float("nan"), "s", at)
        return figures
