"""Pure dynamic analysis on synthetic data of known truth (the chip model, closed forms)."""

import math

import numpy as np
import pytest
from scipy.signal import lfilter

from drivers.roles import Waveform
from sequences import dynamic_analysis as da
from sim_instruments.chip import ChipParameters, MicroLED

CHIPS = [MicroLED(), MicroLED(ChipParameters(diameter=10e-6, a_coeff=3e7, c_coeff=2e-42,
                                             series_resistance=60.0, capacitance=0.5e-12))]
BIASES = np.array([1e-3, 3e-3, 10e-3])


def single_pole(frequency, corner):
    return 1 / (1 + 1j * np.asarray(frequency) / corner)


def first_order(signal, dt, tau):
    """Exact discretisation of a first-order low-pass on a sampled signal (started settled)."""
    a = math.exp(-dt / tau)
    return lfilter([1 - a], [1, -a], signal, zi=[signal[0] * a])[0]


def square_record(run, dt, *, edge=15e-12):
    """A square drive, runs of ``run`` s, starting 0.15 run before a rising edge, 2.3 runs long,
    with a generator edge (first-order, ``edge`` s)."""
    t = np.arange(int(2.3 * run / dt)) * dt - 0.15 * run
    return t, first_order(np.where(t % (2 * run) < run, 1.0, 0.0), dt, edge)


# -- scope records --------------------------------------------------------------------------------
def test_waveform_scaling_matches_the_role_dataclass():
    rng = np.random.default_rng(3)
    waves = [Waveform(codes=rng.integers(-32000, 32000, 50).astype(np.int16), x_increment=5e-11,
                      x_origin=-1e-9 * k, x_reference=0.0, y_increment=1e-5 * (k + 1),
                      y_origin=0.01 * k, y_reference=2.0 * k) for k in range(3)]
    codes = np.stack([w.codes for w in waves])
    preamble = [[getattr(w, f) for f in da.PREAMBLE_FIELDS] for w in waves]
    np.testing.assert_allclose(da.waveform_volts(codes, preamble), [w.volts for w in waves])
    np.testing.assert_allclose(da.waveform_time(50, preamble), [w.time for w in waves])
    np.testing.assert_allclose(da.waveform_volts(codes[1], preamble[1]), waves[1].volts)
    with pytest.raises(ValueError, match="preamble"):
        da.waveform_volts(codes, preamble[:2])


# -- small-signal response ------------------------------------------------------------------------
def test_deembed_pole_recovers_the_chip_response():
    f = np.geomspace(1e6, 5e9, 50)
    chip = CHIPS[0].small_signal_response(f, 2e-3)
    measured = chip * single_pole(f, 8e9)
    np.testing.assert_allclose(da.deembed_pole(f, measured, 8e9), chip, rtol=1e-12)
    np.testing.assert_array_equal(da.deembed_pole(f, measured, None), measured)
    with pytest.raises(ValueError, match="last axis"):
        da.deembed_pole(f[:-1], measured, 8e9)
    with pytest.raises(ValueError, match="bandwidth"):
        da.deembed_pole(f, measured, -1.0)


def test_two_pole_power_gain_closed_form():
    tau, rc = 2e-9, 1e-10
    f = np.array([0.0, 1 / (2 * np.pi * tau)])
    np.testing.assert_allclose(da.two_pole_power_gain(f, 3.0, tau, 0.0), [3.0, 1.5])
    chip = MicroLED(ChipParameters(series_resistance=100.0, capacitance=1e-12))
    g = np.geomspace(1e6, 1e10, 20)
    np.testing.assert_allclose(
        da.two_pole_power_gain(g, 1.0, chip.differential_lifetime(1e-3), rc),
        np.abs(chip.small_signal_response(g, 1e-3)) ** 2, rtol=1e-12)


@pytest.mark.parametrize("level, factor", [(da.ELECTRICAL_LEVEL, 1.0),
                                           (da.OPTICAL_LEVEL, math.sqrt(3))])
def test_crossing_frequency_of_a_single_pole(level, factor):
    f = np.geomspace(1e6, 1e10, 401)
    corner = 123e6
    found = da.crossing_frequency(f, np.abs(single_pole(f, corner)), level)
    assert found == pytest.approx(factor * corner, rel=2e-3)


def test_crossing_frequency_out_of_range_and_bad_input():
    f = np.geomspace(1e6, 1e8, 50)
    assert math.isnan(da.crossing_frequency(f, np.abs(single_pole(f, 1e9)), da.ELECTRICAL_LEVEL))
    assert math.isnan(da.crossing_frequency(f, np.full(f.size, 0.1), da.ELECTRICAL_LEVEL))
    with pytest.raises(ValueError, match="level"):
        da.crossing_frequency(f, np.ones(f.size), 1.5)
    with pytest.raises(ValueError, match="same length"):
        da.crossing_frequency(f, np.ones(3), 0.5)


@pytest.mark.parametrize("chip", CHIPS, ids=["default", "small"])
def test_fit_recovers_lifetimes_and_the_shared_rc_pole(chip):
    rng = np.random.default_rng(7)
    f = np.geomspace(1e6, 6e9, 201)
    gains = np.array([2.0, 3.5, 5.0])
    truth = np.abs(chip.small_signal_response(f[None, :], BIASES[:, None])) ** 2 * gains[:, None]
    noisy = truth * 10 ** (rng.normal(0, 0.05, truth.shape) / 10)  # 0.05 dB noise
    fit = da.fit_two_pole(f, noisy)
    np.testing.assert_allclose(fit.lifetime, chip.differential_lifetime(BIASES), rtol=0.03)
    assert fit.rc_time == pytest.approx(chip.rc_time_constant(), rel=0.1)
    np.testing.assert_allclose(fit.gain, gains, rtol=0.02)
    assert fit.rms_db < 0.1


def test_fit_of_one_trace_calls_the_slower_pole_the_lifetime():
    f = np.geomspace(1e6, 6e9, 201)
    chip = CHIPS[0]
    fit = da.fit_two_pole(f, np.abs(chip.small_signal_response(f, 2e-3)) ** 2)
    assert fit.lifetime[0] == pytest.approx(chip.differential_lifetime(2e-3), rel=0.01)
    assert fit.rc_time == pytest.approx(chip.rc_time_constant(), rel=0.05)


def test_fit_refuses_too_little_data():
    with pytest.raises(ValueError, match="usable"):
        da.fit_two_pole([1e6, 2e6, 3e6], [1.0, 0.9, np.nan])


@pytest.mark.parametrize("chip", CHIPS, ids=["default", "small"])
def test_bandwidths_match_the_chip(chip):
    f = np.geomspace(1e6, 8e9, 301)
    receiver = single_pole(f, 10e9)
    s21 = 0.02 * chip.small_signal_response(f[None, :], BIASES[:, None]) * receiver
    power = np.abs(da.deembed_pole(f, s21, 10e9)) ** 2
    result = da.bandwidth_from_power_gain(f, power)
    np.testing.assert_allclose(result.f3db, chip.f3db(BIASES), rtol=0.01)
    np.testing.assert_allclose(result.f3db_optical, chip.f3db(BIASES, 0.5), rtol=0.01)
    np.testing.assert_allclose(result.normalised[:, 0], 1.0, rtol=0.01)


# -- step response -> frequency response -----------------------------------------------------------
@pytest.mark.parametrize("edge", [15e-12, 150e-12], ids=["fast-edge", "slow-edge"])
def test_edge_response_gives_the_chip_bandwidth(edge):
    chip, dt, run, f_rx = CHIPS[0], 1 / 20e9, 64e-9, 10e9
    rng = np.random.default_rng(1)
    t, drive = square_record(run, dt, edge=edge)
    for bias in (1e-3, 5e-3):
        light = chip.optical_power_waveform(t, bias * (0.9 + 0.2 * drive))
        received = first_order(light, dt, 1 / (2 * np.pi * f_rx))
        received += rng.normal(0, 1e-3 * received.mean(), t.size)
        response = da.edge_frequency_response(t, drive, received)
        assert response.edges == 2  # the rise and the fall with settled windows
        f, power = da.band_power_gain(response, f_rx, 1 / run, response.frequency[-1])
        result = da.bandwidth_from_power_gain(f, power)
        assert result.f3db[0] == pytest.approx(chip.f3db(bias), rel=0.04)
        assert result.f3db_optical[0] == pytest.approx(chip.f3db(bias, 0.5), rel=0.06)


def test_edge_response_noise_estimate_tracks_the_noise():
    """Optical = drive + white noise: H = 1, and |H - 1|^2 is the noise the estimate predicts."""
    dt, run = 1 / 20e9, 128e-9
    t, drive = square_record(run, dt)
    rng = np.random.default_rng(5)
    for sigma in (1e-3, 1e-2):
        response = da.edge_frequency_response(t, drive, drive + rng.normal(0, sigma, t.size))
        error = np.abs(response.response[1:] - 1) ** 2
        assert np.mean(error) / np.mean(response.noise_power[1:]) == pytest.approx(1, abs=0.15)


def test_edge_response_needs_settled_edges():
    t = np.arange(1000) * 1e-10
    with pytest.raises(ValueError, match="two drive edges"):
        da.edge_frequency_response(t, (t > 5e-8).astype(float), (t > 5e-8).astype(float))
    with pytest.raises(ValueError, match="same length"):
        da.edge_frequency_response(t, t, t[:-1])


def test_log_band_average():
    f = np.linspace(0, 1e9, 10001)
    centres, means = da.log_band_average(f, np.full(f.size, 2.0), 1e6, 1e9, 10)
    assert centres.size == 30 and np.allclose(means, 2.0)
    assert np.all(np.diff(centres) > 0)
    _, sparse = da.log_band_average(np.array([1e6, 5e8]), np.array([1.0, 3.0]), 1e6, 1e9, 10)
    assert np.isnan(sparse).sum() == 28 and np.nansum(sparse) == 4.0
    with pytest.raises(ValueError, match="f_max"):
        da.log_band_average(f, f, 1e9, 1e6)


# -- edges in time ---------------------------------------------------------------------------------
def test_two_level_and_crossings():
    t = np.arange(10.0)
    v = np.array([0, 0, 0, 1, 1, 1, 0, 0, 1, 1], float) * 2 + 1
    assert da.two_level(v) == (1.0, 3.0)
    np.testing.assert_allclose(da.crossing_times(t, v, 2.0, +1), [2.5, 7.5])
    np.testing.assert_allclose(da.crossing_times(t, v, 2.0, -1), [5.5])
    np.testing.assert_allclose(da.crossing_times(t, v, 2.0), [2.5, 5.5, 7.5])
    with pytest.raises(ValueError, match="two-level"):
        da.two_level(np.ones(5))


def test_edge_timings_of_an_exponential_step():
    """A single pole: 10-90 % = ln 9 tau, 50 % delay = ln 2 tau (plus any pure delay)."""
    dt, run, tau, shift = 5e-12, 20e-9, 1.5e-9, 0.7e-9
    t, drive = square_record(run, dt, edge=1e-13)
    steps = int(round(shift / dt))
    light = first_order(np.concatenate([np.zeros(steps), drive[:-steps]]), dt, tau) * 0.3 + 0.1
    timing = da.edge_timings(t, drive, light)
    assert timing["rise_time"].size == timing["fall_time"].size == 1
    assert timing["rise_time"][0] == pytest.approx(math.log(9) * tau, rel=0.005)
    assert timing["fall_time"][0] == pytest.approx(math.log(9) * tau, rel=0.005)
    assert timing["rise_delay"][0] == pytest.approx(math.log(2) * tau + shift, rel=0.005)
    assert timing["fall_delay"][0] == pytest.approx(math.log(2) * tau + shift, rel=0.005)
    assert timing["drive_rise_time"][0] < 2e-11


def test_rise_time_bandwidth_product_of_the_chip():
    """0.35 / f3db predicts the chip's small-step 10-90 % time [Johnson]."""
    chip, dt, run = CHIPS[1], 2e-11, 40e-9
    t, drive = square_record(run, dt, edge=1e-12)
    for bias in (1e-3, 5e-3):
        timing = da.edge_timings(t, drive, chip.optical_power_waveform(t, bias * (1 + 0.1 * drive)))
        expected = da.RISE_TIME_BANDWIDTH / chip.f3db(bias)
        assert timing["rise_time"][0] == pytest.approx(expected, rel=0.05)


def test_deembed_rise_time():
    np.testing.assert_allclose(da.deembed_rise_time(5.0, 3.0), 4.0)
    np.testing.assert_allclose(da.deembed_rise_time([13.0], 5.0, [0.0]), [12.0])
    assert np.isnan(da.deembed_rise_time(1.0, 2.0))


# -- eye -------------------------------------------------------------------------------------------
def nrz(bits, period, samples_per_bit, *, one, zero, jitter=0.0, noise=0.0, seed=0):
    """An NRZ waveform with tanh edges at jittered bit boundaries and Gaussian amplitude noise."""
    rng = np.random.default_rng(seed)
    t = (np.arange(bits.size * samples_per_bit) + 0.37) * period / samples_per_bit
    v = np.full(t.size, zero if bits[0] == 0 else one, dtype=float)
    for k in np.flatnonzero(np.diff(bits)) + 1:
        edge = k * period + rng.normal(0, jitter)
        step = 0.5 * (1 + np.tanh((t - edge) / (0.03 * period)))
        v += (bits[k] - bits[k - 1]) * (one - zero) * step
    return t, v + rng.normal(0, noise, t.size)


def prbs7(count):
    state, out = 0x7F, []
    for _ in range(count):
        bit = ((state >> 6) ^ (state >> 5)) & 1
        state = ((state << 1) | bit) & 0x7F
        out.append(bit)
    return np.array(out)


def test_eye_levels_q_and_extinction():
    period, sigma = 1 / 3e9, 0.01
    t, v = nrz(prbs7(2000), period, 16, one=1.0, zero=0.2, noise=sigma)
    phase, deviation = da.fold_eye(t, v, period, 0.6)
    eye = da.eye_figures(phase, v, deviation, period, 0.6)
    assert eye["one_level"] == pytest.approx(1.0, abs=2e-3)
    assert eye["zero_level"] == pytest.approx(0.2, abs=2e-3)
    assert eye["q_factor"] == pytest.approx(0.8 / (2 * sigma), rel=0.05)
    assert eye["extinction_ratio"] == pytest.approx(5.0, rel=0.02)
    assert eye["eye_height"] == pytest.approx(0.8 - 6 * sigma, rel=0.01)
    assert eye["ber_estimate"] == pytest.approx(float(da.ber_from_q(eye["q_factor"])))


def test_eye_width_follows_the_jitter():
    period, jitter = 1 / 2e9, 8e-12
    t, v = nrz(prbs7(3000), period, 32, one=1.0, zero=0.0, jitter=jitter, seed=2)
    phase, deviation = da.fold_eye(t, v, period, 0.5)
    assert np.std(deviation) == pytest.approx(jitter, rel=0.1)
    eye = da.eye_figures(phase, v, deviation, period, 0.5)
    assert eye["eye_width"] == pytest.approx(period - 6 * jitter, rel=0.02)
    counts, times, volts = da.eye_histogram(phase, v, period, time_bins=50, voltage_bins=40)
    assert counts.shape == (40, 50) and counts.sum() == v.size
    assert times[0] > 0 and times[-1] < period and volts[0] > v.min() - 1e-12
    # the eye is open in its centre: no samples half way between the levels
    centre = (np.abs(times - period / 2) < 0.1 * period)
    middle = np.abs(volts - 0.5) < 0.2
    assert counts[np.ix_(middle, centre)].sum() == 0


def test_eye_refuses_a_record_without_crossings():
    t = np.arange(100) * 1e-11
    with pytest.raises(ValueError, match="crossings"):
        da.fold_eye(t, np.ones(100), 1e-10, 0.5)
    with pytest.raises(ValueError, match="too few"):
        da.eye_figures(np.full(10, 0.5), np.ones(10), np.zeros(3), 1e-10, 0.5)


def test_ber_from_q_known_values():
    assert float(da.ber_from_q(0.0)) == 0.5
    assert float(da.ber_from_q(6.0)) == pytest.approx(9.87e-10, rel=1e-3)
    assert float(da.ber_from_q(7.0)) == pytest.approx(1.28e-12, rel=1e-2)


# -- energy ----------------------------------------------------------------------------------------
def test_prbs_mark_density():
    assert da.prbs_mark_density(7) == 64 / 127
    assert np.mean(prbs7(127)) == pytest.approx(da.prbs_mark_density(7))
    with pytest.raises(ValueError, match="order"):
        da.prbs_mark_density(1)


def test_energy_per_bit_equals_the_mean_of_v_times_i():
    """<v i> over an AC-coupled two-level current on a linear V(I) equals the formula."""
    bias, swing, v_bias, r_d, rate = 1e-3, 0.8e-3, 3.1, 450.0, 3e9
    bits = prbs7(127 * 4)
    p = bits.mean()
    i = bias + swing * (bits - p)  # AC coupled: zero mean modulation
    v = v_bias + r_d * (i - bias)
    energy = da.energy_per_bit(v_bias, bias, r_d, swing, p, rate)
    assert energy == pytest.approx(np.mean(v * i) / rate, rel=1e-12)
    assert energy == pytest.approx((v_bias * bias + r_d * swing**2 * p * (1 - p)) / rate)
    with pytest.raises(ValueError, match="bit_rate"):
        da.energy_per_bit(v_bias, bias, r_d, swing, p, 0.0)
    with pytest.raises(ValueError, match="mark_density"):
        da.energy_per_bit(v_bias, bias, r_d, swing, 1.5, rate)
