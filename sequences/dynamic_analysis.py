"""Dynamic analysis of a Micro LED (switching speed, latency, link figures): pure numpy functions.

Everything is in SI units, in and out: time in s, frequency in Hz, current in A, voltage in V,
energy in J. Responses are complex or power ratios; dimensionless figures are plain ratios.

Sources for the formulas:
  [Coldren]  L. A. Coldren, S. W. Corzine, M. L. Mashanovitch, "Diode Lasers and Photonic
             Integrated Circuits", 2nd ed., Wiley (2012), ch. 5: small-signal response of the
             linearised carrier rate equation, H = 1 / (1 + j w tau) with the differential
             lifetime tau = dn/dR; the electrical parasitics add a pole 1 / (1 + j w R C).
  [Rajbh]    S. Rajbhandari et al., "A review of gallium nitride LEDs for multi-gigabit-per-second
             visible light data communications", Semicond. Sci. Technol. 32, 023001 (2017):
             micro-LED modulation bandwidth set by carrier lifetime and RC; the electrical (|H|
             falls to 1/sqrt 2) and optical (|H| falls to 1/2) -3 dB conventions.
  [Johnson]  H. Johnson, M. Graham, "High-Speed Digital Design", Prentice Hall (1993), ch. 1-2:
             10-90 % rise time, t_r = 0.35 / f3db of a single pole, and root-sum-square
             combination of the rise times of cascaded stages.
  [Agrawal]  G. P. Agrawal, "Fiber-Optic Communication Systems", 4th ed., Wiley (2010), sec. 4.5:
             Q = (I1 - I0) / (s1 + s0), BER = 1/2 erfc(Q / sqrt 2), extinction ratio P1 / P0.
  [Infiniium] Keysight Infiniium eye measurements: eye height (mu1 - 3 s1) - (mu0 + 3 s0) in
             the eye's central window, eye width (t_cross2 - 3 s_t) - (t_cross1 + 3 s_t).
  [802.3]    IEEE 802.3, cl. 52.9 / 68.6: optical levels for the extinction ratio are taken in
             the central 20 % of the unit interval.

Input validation: arrays must be numeric and of matching shapes; bad input raises ValueError
naming the argument.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ELECTRICAL_LEVEL",
    "OPTICAL_LEVEL",
    "RISE_TIME_BANDWIDTH",
    "PREAMBLE_FIELDS",
    "BandwidthResult",
    "TwoPoleFit",
    "waveform_volts",
    "waveform_time",
    "deembed_pole",
    "two_pole_power_gain",
    "fit_two_pole",
    "crossing_frequency",
    "bandwidth_from_power_gain",
    "EdgeResponse",
    "edge_frequency_response",
    "log_band_average",
    "band_power_gain",
    "two_level",
    "crossing_times",
    "edge_timings",
    "deembed_rise_time",
    "fold_eye",
    "eye_histogram",
    "eye_figures",
    "ber_from_q",
    "prbs_mark_density",
    "energy_per_bit",
]

ELECTRICAL_LEVEL = 1 / math.sqrt(2)  # |H| at the electrical -3 dB bandwidth (|S21| down 3 dB)
OPTICAL_LEVEL = 0.5  # |H| at the optical -3 dB bandwidth (electrical -6 dB) [Rajbh]
RISE_TIME_BANDWIDTH = 0.35  # t_r f3db of a single pole: 2.197 tau x 1/(2 pi tau) [Johnson]

# A scope record's scaling, as stored next to its integer codes (one row per record).
PREAMBLE_FIELDS = ("x_increment", "x_origin", "x_reference", "y_increment", "y_origin",
                   "y_reference")


def _array(name: str, values, ndim: int | tuple[int, ...] = 1, *, dtype=float) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if arr.ndim not in allowed:
        raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                         f"got shape {arr.shape}")
    return arr


def _positive(name: str, value) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return value


# -- scope records -------------------------------------------------------------------------------
def waveform_volts(codes, preamble) -> np.ndarray:
    """volts = (codes - y_reference) y_increment + y_origin, per record (Infiniium "Data
    Conversion"); ``codes`` (records x points) with ``preamble`` rows in PREAMBLE_FIELDS order."""
    codes, pre = _array("codes", codes, (1, 2)), _array("preamble", preamble, (1, 2))
    codes2, pre2 = np.atleast_2d(codes), np.atleast_2d(pre)
    if pre2.shape != (codes2.shape[0], len(PREAMBLE_FIELDS)):
        raise ValueError(f"preamble must have one row of {len(PREAMBLE_FIELDS)} fields per "
                         f"record, got shape {pre.shape} for {codes2.shape[0]} record(s)")
    volts = (codes2 - pre2[:, 5:6]) * pre2[:, 3:4] + pre2[:, 4:5]
    return volts if codes.ndim == 2 else volts[0]


def waveform_time(points: int, preamble) -> np.ndarray:
    """time = (index - x_reference) x_increment + x_origin, per record (same source)."""
    pre = _array("preamble", preamble, (1, 2))
    pre2 = np.atleast_2d(pre)
    t = (np.arange(int(points))[None, :] - pre2[:, 2:3]) * pre2[:, 0:1] + pre2[:, 1:2]
    return t if pre.ndim == 2 else t[0]


# -- small-signal response -----------------------------------------------------------------------
def deembed_pole(frequency, response, bandwidth: float | None) -> np.ndarray:
    """Remove a first-order pole at ``bandwidth`` (a photoreceiver): H = H_meas (1 + j f / f_p).

    ``response`` is complex, with ``frequency`` along its last axis; ``bandwidth`` None leaves
    it unchanged.
    """
    f = _array("frequency", frequency)
    h = np.asarray(response, dtype=complex)
    if h.shape[-1] != f.size:
        raise ValueError(f"response's last axis ({h.shape[-1]}) must match frequency ({f.size})")
    if bandwidth is None:
        return h
    return h * (1 + 1j * f / _positive("bandwidth", bandwidth))


def two_pole_power_gain(frequency, gain, lifetime, rc_time) -> np.ndarray:
    """|H|^2 = G / ((1 + (w tau)^2)(1 + (w tau_RC)^2)), w = 2 pi f [Coldren ch. 5, RC pole].

    Broadcasts: ``gain`` and ``lifetime`` may be (traces, 1) against a 1-D ``frequency``.
    """
    w = 2 * np.pi * np.asarray(frequency, dtype=float)
    tau, rc = np.asarray(lifetime, dtype=float), np.asarray(rc_time, dtype=float)
    return np.asarray(gain, dtype=float) / ((1 + (w * tau) ** 2) * (1 + (w * rc) ** 2))


@dataclass(frozen=True)
class TwoPoleFit:
    """Fit of :func:`two_pole_power_gain` to one or more traces."""

    gain: np.ndarray  # low-frequency |H|^2 of each trace
    lifetime: np.ndarray  # s, differential carrier lifetime of each trace
    rc_time: float  # s, the RC pole's time constant (shared by all traces)
    rms_db: float  # rms residual, dB of |H|^2


def crossing_frequency(frequency, amplitude, level: float) -> float:
    """First frequency where a normalised amplitude response |H|/|H(0)| falls to ``level``.

    Linear interpolation of 20 log10 |H| against log f between the last sample above and the
    first sample at or below the level; NaN when the response never falls to it in the range, or
    starts below it. NaN samples are skipped.
    """
    f, a = _array("frequency", frequency), _array("amplitude", amplitude)
    if f.shape != a.shape:
        raise ValueError(f"frequency and amplitude must have the same length "
                         f"({f.size} vs {a.size})")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    keep = np.isfinite(a) & (a > 0) & (f > 0)
    f, a = f[keep], a[keep]
    below = np.flatnonzero(a <= level)
    if below.size == 0 or below[0] == 0:
        return float("nan")
    k = below[0]
    x0, x1 = np.log(f[k - 1]), np.log(f[k])
    y0, y1 = 20 * np.log10(a[k - 1]), 20 * np.log10(a[k])
    target = 20 * np.log10(level)
    return float(np.exp(x0 + (target - y0) * (x1 - x0) / (y1 - y0)))


def fit_two_pole(frequency, power_gain, *, floor_db: float = 20.0) -> TwoPoleFit:
    """Least-squares fit of |H|^2 = G_k / ((1 + (w tau_k)^2)(1 + (w tau_RC)^2)) in dB.

    Each trace (row of ``power_gain``, NaN = no data) has its own gain G_k and differential
    lifetime tau_k [Coldren ch. 5]; the RC pole is shared by all traces, which is what tells it
    from the lifetime: the carrier lifetime changes with bias, R C does not [Rajbh]. With a single
    trace the two poles cannot be told apart and the slower one is taken as the lifetime (the
    usual case for micro-LEDs below their RC limit). Only points down to ``floor_db`` below each
    trace's low-frequency level are fitted, from the first usable point to the first point
    that is NaN or below that floor (the roll-off, not the noise floor).
    """
    f = _array("frequency", frequency)
    p = np.atleast_2d(_array("power_gain", power_gain, (1, 2)))
    if p.shape[1] != f.size:
        raise ValueError(f"power_gain's last axis ({p.shape[1]}) must match frequency ({f.size})")
    order = np.argsort(f)
    f, p = f[order], p[:, order]
    traces = p.shape[0]
    masks, g0, tau0 = [], np.empty(traces), np.empty(traces)
    for k in range(traces):
        usable = np.isfinite(p[k]) & (p[k] > 0) & (f > 0)
        if np.count_nonzero(usable) < 4:
            raise ValueError(f"power_gain trace {k} has fewer than 4 usable points")
        g0[k] = float(np.median(p[k, usable][:3]))
        first = int(np.flatnonzero(usable)[0])
        ended = np.flatnonzero(~usable[first:] | (p[k, first:] < g0[k] * 10 ** (-floor_db / 10)))
        ok = np.zeros(f.size, bool)
        ok[first:first + (int(ended[0]) if ended.size else f.size)] = True
        masks.append(ok)
        f3 = crossing_frequency(f[ok], np.sqrt(p[k, ok] / g0[k]), ELECTRICAL_LEVEL)
        tau0[k] = 1 / (2 * np.pi * (f3 if np.isfinite(f3) else f[ok][-1]))
    points = sum(int(m.sum()) for m in masks)
    if points <= 2 * traces + 1:
        raise ValueError(f"{points} points are too few to fit {2 * traces + 1} parameters")
    log_f = [f[m] for m in masks]
    data_db = [10 * np.log10(p[k, m]) for k, m in enumerate(masks)]

    def residual(x):
        gains, taus, rc = np.exp(x[:traces]), np.exp(x[traces:2 * traces]), np.exp(x[-1])
        return np.concatenate([
            10 * np.log10(two_pole_power_gain(log_f[k], gains[k], taus[k], rc)) - data_db[k]
            for k in range(traces)])

    start = np.concatenate([np.log(g0), np.log(tau0), [np.log(0.2 * tau0.min())]])
    lower = np.concatenate([np.full(traces, -np.inf), np.full(traces + 1, np.log(1e-15))])
    upper = np.concatenate([np.full(traces, np.inf), np.full(traces + 1, np.log(1.0))])
    from scipy.optimize import least_squares  # imported here: scipy.optimize is slow to load

    fit = least_squares(residual, np.clip(start, lower + 1e-9, upper - 1e-9),
                        bounds=(lower, upper), x_scale=1.0)
    gains, taus, rc = np.exp(fit.x[:traces]), np.exp(fit.x[traces:2 * traces]), \
        float(np.exp(fit.x[-1]))
    if traces == 1 and rc > taus[0]:
        taus, rc = np.array([rc]), float(taus[0])
    return TwoPoleFit(gain=gains, lifetime=taus, rc_time=rc,
                      rms_db=float(np.sqrt(np.mean(fit.fun ** 2))))


@dataclass(frozen=True)
class BandwidthResult:
    """Per-trace bandwidth figures of a set of responses (one trace per bias)."""

    f3db: np.ndarray  # Hz, |H| = 1/sqrt(2) of the low-frequency level (electrical -3 dB)
    f3db_optical: np.ndarray  # Hz, |H| = 1/2 (optical -3 dB, electrical -6 dB)
    fit: TwoPoleFit
    normalised: np.ndarray  # |H|^2 / G of each trace


def bandwidth_from_power_gain(frequency, power_gain) -> BandwidthResult:
    """Bandwidths of chip responses |H|^2 (already de-embedded; traces x frequency).

    Each trace is normalised to its fitted low-frequency level G (:func:`fit_two_pole`), then
    f3db and f3db_optical are read where the measured, normalised amplitude sqrt(|H|^2 / G)
    crosses 1/sqrt 2 and 1/2 (:func:`crossing_frequency`): measured, not modelled; NaN where
    the sweep does not reach the level.
    """
    f = _array("frequency", frequency)
    p = np.atleast_2d(_array("power_gain", power_gain, (1, 2)))
    fit = fit_two_pole(f, p)
    normalised = p / fit.gain[:, None]
    amplitude = np.sqrt(normalised)
    return BandwidthResult(
        f3db=np.array([crossing_frequency(f, a, ELECTRICAL_LEVEL) for a in amplitude]),
        f3db_optical=np.array([crossing_frequency(f, a, OPTICAL_LEVEL) for a in amplitude]),
        fit=fit, normalised=normalised)


# -- step response to frequency response ---------------------------------------------------------
def two_level(values) -> tuple[float, float]:
    """Low and high level of a two-level signal: the medians of the samples below and above the
    mid-range (min + max) / 2 (a histogram-free form of the scope's top/base levels)."""
    v = _array("values", values, (1, 2)).ravel()
    v = v[np.isfinite(v)]
    if v.size < 2 or np.ptp(v) == 0:
        raise ValueError("values must hold a two-level signal (at least two distinct values)")
    mid = (v.min() + v.max()) / 2
    return float(np.median(v[v <= mid])), float(np.median(v[v > mid]))


def crossing_times(time, values, level: float, direction: int = 0) -> np.ndarray:
    """Times where ``values`` crosses ``level`` (linear interpolation between samples);
    ``direction`` +1 rising only, -1 falling only, 0 both."""
    t, v = _array("time", time), _array("values", values)
    if t.shape != v.shape:
        raise ValueError(f"time and values must have the same length ({t.size} vs {v.size})")
    above = v > level
    k = np.flatnonzero(above[1:] != above[:-1])
    if direction > 0:
        k = k[above[k + 1]]
    elif direction < 0:
        k = k[~above[k + 1]]
    frac = (level - v[k]) / (v[k + 1] - v[k])
    return t[k] + frac * (t[k + 1] - t[k])


def _edges(time, drive) -> tuple[np.ndarray, np.ndarray, float]:
    """Drive edges (times, +1 rising / -1 falling) at the drive's mid level, and that level."""
    low, high = two_level(drive)
    mid = (low + high) / 2
    rising = crossing_times(time, drive, mid, +1)
    falling = crossing_times(time, drive, mid, -1)
    times = np.concatenate([rising, falling])
    kinds = np.concatenate([np.ones(rising.size), -np.ones(falling.size)])
    order = np.argsort(times)
    return times[order], kinds[order], mid


@dataclass(frozen=True)
class EdgeResponse:
    """A frequency response measured from the edges of a square drive."""

    frequency: np.ndarray  # Hz, from 0
    response: np.ndarray  # complex H (optical / drive), mean over the edges
    noise_power: np.ndarray  # expected |H_noise|^2 that the optical noise adds to |H|^2
    edges: int  # number of edges averaged


def edge_frequency_response(time, drive, optical, *, pad_factor: int = 8,
                            min_drive_spectrum: float = 0.1) -> EdgeResponse:
    """Frequency response of ``optical`` to ``drive`` from every complete edge of one record.

    A square drive with runs long enough for the response to settle: for each drive edge whose
    window, from 10 % of a run before the edge to 10 % of a run before the next edge (which
    must be in the record too), lies inside the record, H_e(f) = DFT(diff y) / DFT(diff x) over
    the window, zero-padded to a common length. The derivative of a step response is the
    impulse response, and the ratio divides out the real drive edge (its rise time, overshoot),
    so H_e is the response to an ideal step [Johnson ch. 1]. Rising and falling edges both give
    H; their mean is returned for 0 <= f, up to where the drive's edge spectrum falls below
    ``min_drive_spectrum`` of its DC value or 0.4 x the sample rate.

    Noise: white noise of variance s^2 on y adds |N|^2 = 4 sin^2(pi f dt) L s^2 to
    |DFT(diff y)|^2 over L samples; s^2 = var(diff y) / 2 on the settled last 30 % of each
    window. ``noise_power`` is the resulting mean |H_noise|^2, which grows with f and tells where
    the measured response ends.
    """
    t, x, y = _array("time", time), _array("drive", drive), _array("optical", optical)
    if not t.shape == x.shape == y.shape:
        raise ValueError("time, drive and optical must have the same length")
    dt = float(np.median(np.diff(t)))
    edges, _, _ = _edges(t, x)
    if edges.size < 2:
        raise ValueError("the record must hold at least two drive edges (a rise and a fall)")
    run = float(np.median(np.diff(edges)))
    margin = 0.1 * run
    windows = []
    for edge, following in zip(edges[:-1], edges[1:], strict=True):
        start, stop = edge - margin, following - margin
        if start < t[0] or stop > t[-1] or stop - start < 0.5 * run:
            continue
        windows.append((int(np.searchsorted(t, start)), int(np.searchsorted(t, stop))))
    if not windows:
        raise ValueError("no drive edge has a settled window inside the record; record a "
                         "longer span around the edges")
    length = max(b - a for a, b in windows)
    n = 1 << int(math.ceil(math.log2(pad_factor * length)))
    freq = np.fft.rfftfreq(n, dt)
    x_level = np.zeros(freq.size)
    ratio = np.zeros(freq.size, dtype=complex)
    noise = np.zeros(freq.size)
    for a, b in windows:
        dx, dy = np.diff(x[a:b + 1]), np.diff(y[a:b + 1])
        spec_x = np.fft.rfft(dx, n)
        x_level += np.abs(spec_x)
        tail = dy[int(0.7 * dy.size):]
        variance = float(np.var(tail) / 2) if tail.size > 2 else 0.0
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio += np.fft.rfft(dy, n) / spec_x
            noise += 4 * np.sin(np.pi * freq * dt) ** 2 * dy.size * variance \
                / np.abs(spec_x) ** 2
    count = len(windows)
    weak = np.flatnonzero(x_level < min_drive_spectrum * x_level[0])
    stop = min(weak[0] if weak.size else freq.size, int(np.searchsorted(freq, 0.4 / dt)))
    return EdgeResponse(freq[:stop], ratio[:stop] / count, noise[:stop] / count**2, count)


def log_band_average(frequency, power_gain, f_min: float, f_max: float,
                     bands_per_decade: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Mean of |H|^2 in log-spaced bands from f_min to f_max (geometric band centres).

    Smooths a finely sampled, noisy response (an FFT) onto a VNA-like log grid; bands holding no
    sample are NaN. ``power_gain`` may be 2-D (traces x frequency).
    """
    f = _array("frequency", frequency)
    p = _array("power_gain", power_gain, (1, 2))
    if p.shape[-1] != f.size:
        raise ValueError(f"power_gain's last axis ({p.shape[-1]}) must match frequency ({f.size})")
    f_min, f_max = _positive("f_min", f_min), _positive("f_max", f_max)
    if f_max <= f_min:
        raise ValueError(f"f_max ({f_max:g}) must be above f_min ({f_min:g})")
    count = max(1, int(round(bands_per_decade * math.log10(f_max / f_min))))
    edges = np.geomspace(f_min, f_max, count + 1)
    centres = np.sqrt(edges[:-1] * edges[1:])
    index = np.searchsorted(edges, f, side="right") - 1
    inside = (index >= 0) & (index < count)
    p2 = np.atleast_2d(p)
    sums = np.zeros((p2.shape[0], count))
    for row in range(p2.shape[0]):
        sums[row] = np.bincount(index[inside], weights=p2[row, inside], minlength=count)
    hits = np.bincount(index[inside], minlength=count)
    with np.errstate(invalid="ignore"):
        means = np.where(hits > 0, sums / np.maximum(hits, 1), np.nan)
    return centres, means if p.ndim == 2 else means[0]


def band_power_gain(response: EdgeResponse, receiver_bandwidth: float | None, f_min: float,
                    f_max: float, *, bands_per_decade: int = 20, min_snr: float = 4.0
                    ) -> tuple[np.ndarray, np.ndarray]:
    """|H|^2 of an edge response on a log grid: receiver pole removed (:func:`deembed_pole`),
    averaged in bands (:func:`log_band_average`), the expected noise power subtracted (it adds to
    |H|^2 on average), and NaN where the band's |H|^2 is under ``min_snr`` x its noise power."""
    h = deembed_pole(response.frequency, response.response, receiver_bandwidth)
    gain = np.abs(1 + 1j * response.frequency / receiver_bandwidth) ** 2 \
        if receiver_bandwidth is not None else 1.0
    centres, power = log_band_average(response.frequency, np.abs(h) ** 2, f_min, f_max,
                                      bands_per_decade)
    _, noise = log_band_average(response.frequency, response.noise_power * gain, f_min, f_max,
                                bands_per_decade)
    with np.errstate(invalid="ignore"):
        return centres, np.where(power >= min_snr * noise, power - noise, np.nan)


# -- edges in time --------------------------------------------------------------------------------
def _level_crossing(t, v, level, rising: bool) -> float:
    """Interpolated time where ``v`` first reaches ``level`` going up (``rising``) or down; NaN
    if it never does or starts beyond it (for the clean drive edge)."""
    beyond = v >= level if rising else v <= level
    k = np.flatnonzero(beyond)
    if k.size == 0 or k[0] == 0:
        return float("nan")
    j = k[0]
    return float(t[j - 1] + (level - v[j - 1]) * (t[j] - t[j - 1]) / (v[j] - v[j - 1]))


def edge_timings(time, drive, optical, *, window: float = 0.1) -> dict[str, np.ndarray]:
    """10 %, 50 %, 90 % crossing times of the optical response to each complete drive edge.

    Levels: the optical signal's settled value over the last ``window`` of a run before each
    drive edge (before: the starting level; before the next edge: the final level), so they are
    taken where the response has settled. The optical edge's 10-90 % time is measured on the
    stretch that ends at its first sample beyond the 90 % point (the crossings are the last ones
    before it, robust to noise on the plateau). ``delay`` is 50 % (optical) minus the drive's own
    50 % crossing. Returns arrays of ``rise_time``, ``fall_time`` (one per rising / falling edge),
    ``rise_delay``, ``fall_delay`` and ``drive_rise_time``, ``drive_fall_time`` (10-90 % of the
    drive edge itself, for de-embedding).
    """
    t, x, y = _array("time", time), _array("drive", drive), _array("optical", optical)
    if not t.shape == x.shape == y.shape:
        raise ValueError("time, drive and optical must have the same length")
    edges, kinds, _ = _edges(t, x)
    x_low, x_high = two_level(x)
    out: dict[str, list[float]] = {key: [] for key in (
        "rise_time", "fall_time", "rise_delay", "fall_delay", "drive_rise_time",
        "drive_fall_time")}
    if edges.size < 2:
        raise ValueError("the record must hold at least two drive edges (a rise and a fall)")
    run = float(np.median(np.diff(edges)))
    span = window * run
    for k, (edge, kind) in enumerate(zip(edges, kinds, strict=True)):
        following = edges[k + 1] if k + 1 < edges.size else edge + run
        if edge - span < t[0] or following > t[-1]:
            continue
        before = (t >= edge - span) & (t < edge)
        settled = (t >= following - span) & (t < following)
        start, final = float(np.median(y[before])), float(np.median(y[settled]))
        rising = kind > 0
        if (final > start) != rising:
            continue
        seg = (t >= edge - span) & (t < following)
        ts, xs, ys = t[seg], x[seg], y[seg]
        levels = [start + q * (final - start) for q in (0.1, 0.5, 0.9)]
        k90 = np.flatnonzero(ys >= levels[2] if rising else ys <= levels[2])
        if k90.size == 0:
            continue
        head_t, head_y = ts[:k90[0] + 1], ys[:k90[0] + 1]
        t10, t50, t90 = (_last_crossing(head_t, head_y, level) for level in levels)
        dlev = [x_low + q * (x_high - x_low) for q in (0.1, 0.5, 0.9)]
        if not rising:
            dlev = dlev[::-1]
        d10, d50, d90 = (_level_crossing(ts, xs, level, rising) for level in dlev)
        name = "rise" if rising else "fall"
        out[f"{name}_time"].append(t90 - t10)
        out[f"{name}_delay"].append(t50 - d50)
        out[f"drive_{name}_time"].append(d90 - d10)
    return {key: np.array(values) for key, values in out.items()}


def _last_crossing(t, v, level) -> float:
    """Interpolated time of the last crossing of ``level`` in (t, v); NaN if there is none."""
    times = crossing_times(t, v, level)
    return float(times[-1]) if times.size else float("nan")


def deembed_rise_time(measured, *others) -> np.ndarray:
    """t_chip = sqrt(t_meas^2 - sum t_i^2): rise times of cascaded stages add in quadrature
    [Johnson ch. 2]; NaN where the instrumentation is as slow as the measurement."""
    total = np.asarray(measured, dtype=float) ** 2 - sum(np.asarray(o, float) ** 2 for o in others)
    with np.errstate(invalid="ignore"):
        return np.where(total > 0, np.sqrt(np.abs(total)), np.nan)


# -- eye diagram ----------------------------------------------------------------------------------
def fold_eye(time, values, bit_period: float, threshold: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Fold one record at the bit period, crossings at phase 0 and 1 (eye centre at 0.5 UI).

    The crossing phase is the circular mean of the phases (t / T mod 1) of the threshold
    crossings, i.e. the clock recovered from the data. Returns the phase of every sample (UI, in
    [0, 1)) and every crossing's deviation from the mean crossing time (s, the jitter).
    """
    t, v = _array("time", time), _array("values", values)
    period = _positive("bit_period", bit_period)
    crossings = crossing_times(t, v, threshold)
    if crossings.size < 2:
        raise ValueError("the record has fewer than two threshold crossings: no eye to fold")
    angle = np.angle(np.mean(np.exp(2j * np.pi * crossings / period))) / (2 * np.pi)
    deviation = (crossings / period - angle + 0.5) % 1.0 - 0.5
    return (t / period - angle) % 1.0, deviation * period


def eye_histogram(phase, values, bit_period: float, *, time_bins: int = 100,
                  voltage_bins: int = 100, voltage_range: tuple[float, float] | None = None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The eye diagram as a 2-D histogram of sample counts (voltage bins x time bins) over one
    unit interval, and the bin centres: time (s, crossing at 0 and T) and voltage (V)."""
    ph, v = _array("phase", phase), _array("values", values)
    period = _positive("bit_period", bit_period)
    if ph.shape != v.shape:
        raise ValueError("phase and values must have the same length")
    vr = voltage_range if voltage_range is not None else (float(v.min()), float(v.max()))
    counts, t_edges, v_edges = np.histogram2d(ph * period, v, bins=(time_bins, voltage_bins),
                                              range=((0.0, period), vr))
    return (counts.T.astype(np.int64), (t_edges[:-1] + t_edges[1:]) / 2,
            (v_edges[:-1] + v_edges[1:]) / 2)


def ber_from_q(q) -> np.ndarray | float:
    """BER = 1/2 erfc(Q / sqrt 2) for Gaussian noise on both levels [Agrawal 4.5]."""
    from scipy.special import erfc  # scipy loads only when an eye is analysed

    return 0.5 * erfc(np.asarray(q, dtype=float) / math.sqrt(2))


def eye_figures(phase, values, crossing_deviation, bit_period: float, threshold: float,
                dark_level: float = 0.0, window: float = 0.2) -> dict[str, float]:
    """Eye figures from folded samples (:func:`fold_eye`, pooled over records).

    Samples within ``window`` UI around the eye centre are split at ``threshold`` into ones and
    zeros with means mu1, mu0 and standard deviations s1, s0 [802.3 central 20 %]:
    eye_height = (mu1 - 3 s1) - (mu0 + 3 s0), negative when the eye is closed [Infiniium];
    q_factor = (mu1 - mu0) / (s1 + s0) and ber_estimate = 1/2 erfc(Q / sqrt 2) [Agrawal];
    extinction_ratio = (mu1 - dark) / (mu0 - dark), the optical power ratio P1/P0 for a receiver
    whose output is proportional to power above ``dark_level`` [Agrawal]; eye_width =
    T - 6 s_t with s_t the standard deviation of the crossing times [Infiniium].
    """
    ph, v = _array("phase", phase), _array("values", values)
    dev = _array("crossing_deviation", crossing_deviation)
    period = _positive("bit_period", bit_period)
    if ph.shape != v.shape:
        raise ValueError("phase and values must have the same length")
    centre = np.abs(ph - 0.5) <= window / 2
    ones, zeros = v[centre & (v > threshold)], v[centre & (v <= threshold)]
    if ones.size < 2 or zeros.size < 2:
        raise ValueError("the eye centre holds too few ones or zeros: no eye")
    mu1, mu0, s1, s0 = ones.mean(), zeros.mean(), ones.std(ddof=1), zeros.std(ddof=1)
    q = (mu1 - mu0) / (s1 + s0) if s1 + s0 > 0 else float("inf")
    with np.errstate(divide="ignore"):
        extinction = (mu1 - dark_level) / (mu0 - dark_level) if mu0 > dark_level \
            else float("inf")
    return {"eye_height": float((mu1 - 3 * s1) - (mu0 + 3 * s0)),
            "eye_width": float(period - 6 * dev.std(ddof=1)) if dev.size > 1 else float("nan"),
            "extinction_ratio": float(extinction), "q_factor": float(q),
            "ber_estimate": float(ber_from_q(q)),
            "one_level": float(mu1), "zero_level": float(mu0)}


# -- energy ---------------------------------------------------------------------------------------
def prbs_mark_density(order: int) -> float:
    """Fraction of ones in a maximal-length PRBS 2^n - 1: 2^(n-1) / (2^n - 1)."""
    if int(order) != order or order < 2:
        raise ValueError(f"PRBS order must be an integer >= 2, got {order!r}")
    return 2 ** (order - 1) / (2**order - 1)


def energy_per_bit(bias_voltage: float, bias_current: float, differential_resistance: float,
                   modulation_current: float, mark_density: float, bit_rate: float) -> float:
    """E_b = P_elec / B, with P_elec = V_b I_b + R_d p (1 - p) dI^2.

    V_b, I_b: the chip's DC operating point measured by the SMU. The modulation arrives AC
    coupled through the bias tee: a two-level current of peak-to-peak dI and mark density p has
    zero mean and mean square p (1 - p) dI^2, and the chip, linearised about the bias
    (v = V_b + R_d i_ac, R_d = dV/dI measured by the SMU), dissipates <v i> = V_b I_b + R_d
    <i_ac^2>. R_d is the low-frequency (quasi-static) resistance, an upper estimate at GHz
    rates where the junction capacitance carries part of the AC current.
    """
    for name, value in (("bias_voltage", bias_voltage), ("bias_current", bias_current),
                        ("differential_resistance", differential_resistance),
                        ("modulation_current", modulation_current)):
        if not math.isfinite(float(value)):
            raise ValueError(f"{name} must be finite, got {value!r}")
    if not 0 <= mark_density <= 1:
        raise ValueError(f"mark_density must be in [0, 1], got {mark_density}")
    power = bias_voltage * bias_current + differential_resistance * mark_density * \
        (1 - mark_density) * modulation_current**2
    return float(power / _positive("bit_rate", bit_rate))
