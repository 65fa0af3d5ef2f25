"""``align``: find the stage position of peak coupled power (positioner + power meter).

The emitter is driven at ``drive_current`` by the SMU (routed to emitter ``row``, ``column``
first when the station has a switch matrix); ``home: true`` homes the stage first. A coarse
raster of ``coarse_points`` x ``coarse_points`` over ``span`` in x and y around the centre
comes first; then, ``passes`` times, a fine line in x, one in y (each ``fine_points`` over
``fine_span``, centred on the best estimate so far) and one in z (``z_points`` over ``z_span``
around the starting z; none with ``z_points: 0``); each line is fitted (a Gaussian across,
:func:`gaussian_peak`; a Lorentzian in z, :func:`lorentzian_peak`) and its peak centres the
next. The stage ends at the found peak, where the coupled power is read once more.
Every position the search can visit lies within the raster widened by half a fine line, and
z within the z line: that envelope is checked against the travel limits before the first move.

Every reading is a streamed row (``x``, ``y``, ``z``, ``optical_power``, ``scan``: the
:data:`SCANS` index), so the analysis (:func:`align_figures`) gives every figure from the file:
the raster as a map, the peak from the last line of each axis, the 1 dB tolerances from the
curvature of the last x and y lines, and ``coupling_efficiency`` = coupled / emitted power
with the emitted power given as ``emitted_power`` (e.g. an ``liv`` step's
``max_optical_power`` at the same current, measured in an integrating sphere).
"""

from __future__ import annotations

import math

import numpy as np

from common.errors import ConfigError, LimitError
from drivers.roles import CurrentSource, Positioner, PowerMeter, Switch

from .base import Parameter, Result, Sequence, figure

SCANS = ("raster", "x", "y", "z", "peak")
"""Codes of the ``scan`` column: the index in this tuple."""
RASTER, X_LINE, Y_LINE, Z_LINE, PEAK = range(len(SCANS))
ONE_DB = 0.1 * math.log(10)  # ln of the power ratio of 1 dB
FIT_WINDOW = 0.1  # a line is fitted over its points within 10 dB of its highest reading


class Align(Sequence):
    name = "align"
    summary = "coarse raster then Gaussian line fits: peak coupled power, 1 dB tolerances"
    roles = {"positioner": Positioner, "power_meter": PowerMeter, "smu": CurrentSource}
    optional_roles = {"switch": Switch}
    parameters = {
        "drive_current": Parameter(1e-3, "A", "current through the emitter", minimum=1e-9),
        "voltage_limit": Parameter(5.0, "V", "SMU voltage compliance", minimum=0.02),
        "nplc": Parameter(0.1, "", "SMU integration time in power-line cycles",
                          minimum=0.01, maximum=10),
        "row": Parameter(0, "", "emitter to light, when the station has a switch", kind=int,
                         minimum=0),
        "column": Parameter(0, "", "emitter to light, when the station has a switch", kind=int,
                            minimum=0),
        "center_x": Parameter(None, "m", "raster centre (default: where the stage is)"),
        "center_y": Parameter(None, "m", "raster centre (default: where the stage is)"),
        "center_z": Parameter(None, "m", "z line centre (default: where the stage is)"),
        "span": Parameter(40e-6, "m", "width of the coarse raster in x and in y",
                          minimum=1e-9, maximum=0.1),
        "coarse_points": Parameter(9, "", "raster points per axis", kind=int, minimum=3,
                                   maximum=201),
        "fine_span": Parameter(None, "m", "width of each fine line in x and y (default: two "
                               "raster steps)", minimum=1e-9, maximum=0.1),
        "fine_points": Parameter(11, "", "points per fine line", kind=int, minimum=3,
                                 maximum=1001),
        "z_span": Parameter(100e-6, "m", "width of the z line", minimum=1e-9, maximum=0.1),
        "z_points": Parameter(11, "", "points of the z line (0: no z search)", kind=int,
                              minimum=0, maximum=1001),
        "passes": Parameter(2, "", "rounds of x, y (and z) lines", kind=int, minimum=1,
                            maximum=10),
        "home": Parameter(False, "", "home the axes first (needed once after the controllers "
                          "power up; each axis travels to its reference)", kind=bool),
        "settle": Parameter(0.0, "s", "wait after each move before reading", minimum=0.0),
        "averaging": Parameter(1, "", "power meter samples per reading", kind=int, minimum=1),
        "emitted_power": Parameter(None, "W", "power the emitter emits at drive_current, for "
                                   "coupling_efficiency", minimum=0.0),
    }
    columns = {"x": "m", "y": "m", "z": "m", "optical_power": "W", "scan": ""}
    results = {
        "peak_x": Result("m", "centre of a Gaussian fitted to the last x line (ln P quadratic "
                         "in x over its points within 10 dB of its maximum; Joyce and DeLoach, "
                         "Appl. Opt. 23, 4187 (1984))"),
        "peak_y": Result("m", "as peak_x, from the last y line"),
        "peak_z": Result("m", "vertex of 1 / P quadratic in z over the last z line (a "
                         "Lorentzian, the axial coupling of Gaussian beams); the stage's z "
                         "without a z line"),
        "peak_power": Result("W", "coupled power read at (peak_x, peak_y, peak_z)",
                             ("bias_current",)),
        "coupling_efficiency": Result("1", "peak_power / emitted_power", ("bias_current",)),
        "tolerance_x": Result("m", "1 dB tolerance in x: offset from the peak at which the "
                              "fitted Gaussian has lost 1 dB, sqrt(0.1 ln 10 / -c) for "
                              "ln P = a + b x + c x^2"),
        "tolerance_y": Result("m", "1 dB tolerance in y, as tolerance_x"),
    }
    derived_axes = {"raster_power": {"axes": ["raster_y", "raster_x"]}}

    @classmethod
    def fine_span(cls, params) -> float:
        given = params["fine_span"]
        return given if given is not None else 2 * params["span"] / (params["coarse_points"] - 1)

    @classmethod
    def envelope(cls, params, center: dict[str, float]) -> dict[str, tuple[float, float]]:
        """axis -> (low, high) of every position the search can visit around ``center``."""
        half = params["span"] / 2 + cls.fine_span(params) / 2
        out = {axis: (center[axis] - half, center[axis] + half) for axis in ("x", "y")}
        if params["z_points"]:
            out["z"] = (center["z"] - params["z_span"] / 2, center["z"] + params["z_span"] / 2)
        return out

    @classmethod
    def check_limits(cls, params, limits):
        limits.check_current(params["drive_current"], "drive_current")
        limits.check_voltage(params["voltage_limit"], "voltage_limit")

    @classmethod
    def planned_points(cls, params):
        lines = 2 * params["fine_points"] + params["z_points"]
        return params["coarse_points"] ** 2 + params["passes"] * lines + 1

    @classmethod
    def plan(cls, params, sample, setup, models):
        requests = {"smu": {"current": params["drive_current"],
                            "voltage": params["voltage_limit"], "nplc": params["nplc"]},
                    "power_meter": {"wavelength": sample.wavelength,
                                    "averaging": params["averaging"]}}
        center = {axis: params[f"center_{axis}"] for axis in ("x", "y", "z")}
        if all(value is not None for value in center.values()):
            requests["positioner"] = {"positions": cls.envelope(params, center)}
        if "switch" in models:
            requests["switch"] = {"rows": params["row"] + 1, "columns": params["column"] + 1}
        return requests

    def acquire(self, ctx, params):
        stage, meter, smu = ctx.role("positioner"), ctx.role("power_meter"), ctx.role("smu")
        wanted = ("x", "y", "z") if params["z_points"] else ("x", "y")
        missing = [axis for axis in wanted if axis not in stage.axes]
        if missing:
            raise ConfigError(f"align needs the positioner axes {list(wanted)}; "
                              f"{stage.name} has {list(stage.axes)}")
        if params["home"]:
            stage.home()  # the controllers' own reference search, before any target is set
        now = stage.position()
        center = {axis: (params[f"center_{axis}"] if params[f"center_{axis}"] is not None
                         else now.get(axis, 0.0)) for axis in ("x", "y", "z")}
        for axis, (low, high) in self.envelope(params, center).items():
            travel_low, travel_high = stage.travel(axis)
            if low < travel_low or high > travel_high:
                raise LimitError(f"the search visits {axis} {low:g} to {high:g} m, beyond the "
                                 f"travel limits {travel_low:g} to {travel_high:g} m of "
                                 f"{stage.name}")
        meter.configure(wavelength=ctx.sample.wavelength, averaging=params["averaging"])
        if ctx.has_role("switch"):
            ctx.role("switch").select(params["row"], params["column"])  # SMU off here
        smu.configure_current_source(voltage_limit=params["voltage_limit"], nplc=params["nplc"])
        smu.output_on()
        try:
            smu.set_current(params["drive_current"])
            smu.measure()  # an open emitter ends the step here (ComplianceError)
            self.search(ctx, stage, meter, params, center, now)
        finally:
            smu.output_off()

    def search(self, ctx, stage, meter, params, center, start) -> None:
        """The raster, the fine lines and the final reading at the peak; ``start``: where
        the stage is (axis -> m)."""
        z_axis = bool(params["z_points"])
        here = {axis: start.get(axis, center[axis]) for axis in ("x", "y", "z")[:2 + z_axis]}
        if z_axis:
            here["z"] = center["z"]
            stage.move_to(z=center["z"])

        def read(scan: int, **position: float) -> float:
            moves = {axis: value for axis, value in position.items() if value != here[axis]}
            if moves:  # only the axes that change: each axis is its own controller
                stage.move_to(**moves)
                here.update(moves)
            ctx.sleep(params["settle"])
            power = meter.read_power()
            ctx.points(x=here["x"], y=here["y"], z=here.get("z", center["z"]),
                       optical_power=power, scan=scan)
            return power

        half = params["span"] / 2
        xs = np.linspace(center["x"] - half, center["x"] + half, params["coarse_points"])
        ys = np.linspace(center["y"] - half, center["y"] + half, params["coarse_points"])
        best, best_power = (xs[0], ys[0]), -math.inf
        for k, y in enumerate(ys):
            for x in (xs if k % 2 == 0 else xs[::-1]):  # serpentine: short moves
                power = read(RASTER, x=float(x), y=float(y))
                if power > best_power:
                    best, best_power = (float(x), float(y)), power
        estimate = {"x": best[0], "y": best[1], "z": center["z"]}
        fine_half = self.fine_span(params) / 2
        bounds = {"x": (xs[0], xs[-1]), "y": (ys[0], ys[-1])}
        lines = [(X_LINE, "x", fine_half, params["fine_points"]),
                 (Y_LINE, "y", fine_half, params["fine_points"])]
        if z_axis:
            lines.append((Z_LINE, "z", params["z_span"] / 2, params["z_points"]))
        for _ in range(params["passes"]):
            for scan, axis, width, points in lines:
                middle = center["z"] if axis == "z" else estimate[axis]
                positions = np.linspace(middle - width, middle + width, points)
                powers = []
                for value in positions:
                    others = {a: estimate[a] for a in here if a != axis}
                    powers.append(read(scan, **others, **{axis: float(value)}))
                estimate[axis] = line_peak(positions, np.array(powers), axis, bounds.get(axis))
        read(PEAK, **{a: estimate[a] for a in here})

    @classmethod
    def analyse(cls, data, params, sample):
        return align_figures(data, params)


def _fit_window(position, power) -> tuple[np.ndarray, np.ndarray]:
    """The finite 1-D line as arrays, cut to its points within 10 dB of its highest reading
    (at least 3 of them)."""
    x = np.asarray(position, dtype=float)
    p = np.asarray(power, dtype=float)
    if x.ndim != 1 or x.shape != p.shape or not np.all(np.isfinite(x) & np.isfinite(p)):
        raise ValueError("position and power must be finite 1-D arrays of one length")
    if p.size == 0 or p.max() <= 0:
        raise ValueError("no light on the line")
    used = p >= FIT_WINDOW * p.max()
    if np.count_nonzero(used) < 3:
        raise ValueError("fewer than 3 points within 10 dB of the line's maximum: the line "
                         "is too coarse for the mode")
    return x[used], p[used]


def _quadratic_vertex(x: np.ndarray, values: np.ndarray, weights: np.ndarray, opens: str
                      ) -> tuple[float, float, float]:
    """(vertex, value at the vertex, c) of values = a + b x + c x^2 fitted by weighted least
    squares (x centred and scaled for conditioning; c in the units of x). ``opens``: "down"
    (a maximum) or "up" (a minimum) is required; the vertex must lie within the points."""
    origin, scale = x.mean(), max(np.ptp(x), 1e-300)
    u = (x - origin) / scale
    c, b, a = np.polyfit(u, values, 2, w=weights / weights.max())
    if not (c < 0 if opens == "down" else c > 0):
        raise ValueError("the line's power has no maximum (not peaked)")
    vertex = -b / (2 * c)
    if not u.min() <= vertex <= u.max():
        raise ValueError(f"the fitted peak {origin + vertex * scale:g} m lies outside the "
                         f"points it was fitted to")
    return float(origin + vertex * scale), float(a - b * b / (4 * c)), float(c / scale**2)


def gaussian_peak(position, power) -> tuple[float, float, float]:
    """(centre, peak power, 1 dB half-width) of a lateral line: a Gaussian
    P = P0 exp(-(x - x0)^2 / w^2), the coupling of two Gaussian modes offset by x - x0 (Joyce
    and DeLoach, Appl. Opt. 23, 4187 (1984)), fitted as ln P = a + b x + c x^2 by least squares
    weighted by P (the weight of ln P when the noise is on P; Caruana et al., Appl. Spectrosc.
    40, 81 (1986)) over the points within 10 dB of the line's highest reading. x0 = -b / 2c;
    the 1 dB half-width, where ln P has fallen by 0.1 ln 10, is sqrt(0.1 ln 10 / -c).
    ValueError when the line has no peak inside it."""
    x, p = _fit_window(position, power)
    centre, log_peak, c = _quadratic_vertex(x, np.log(p), p, "down")
    return centre, float(np.exp(log_peak)), math.sqrt(ONE_DB / -c)


def lorentzian_peak(position, power) -> tuple[float, float]:
    """(centre, peak power) of an axial line: on axis two Gaussian beams couple as
    P0 / (1 + ((z - z0) / 2 z_R)^2) (Joyce and DeLoach 1984), so 1 / P is a quadratic in z,
    fitted by least squares weighted by P^2 (the weight of 1 / P when the noise is on P) over
    the points within 10 dB of the line's highest reading; z0 its vertex."""
    z, p = _fit_window(position, power)
    centre, inverse_peak, _ = _quadratic_vertex(z, 1.0 / p, p * p, "up")
    return centre, 1.0 / inverse_peak


def line_peak(position, power, axis: str, bounds: tuple[float, float] | None) -> float:
    """Where the next line is centred: the fitted peak (:func:`lorentzian_peak` in z,
    :func:`gaussian_peak` across), or the line's best reading when the fit fails or its peak
    leaves ``bounds`` (the raster: the search never leaves what was checked against the
    travel limits)."""
    try:
        centre = (lorentzian_peak if axis == "z" else gaussian_peak)(position, power)[0]
    except ValueError:
        centre = float(np.asarray(position)[int(np.argmax(power))])
    if bounds is not None and not bounds[0] <= centre <= bounds[1]:
        centre = float(np.clip(np.asarray(position)[int(np.argmax(power))], *bounds))
    return centre


def last_line(scan: np.ndarray, code: int) -> np.ndarray:
    """Indices of the last contiguous run of rows with this scan code."""
    where = np.flatnonzero(scan == code)
    if where.size == 0:
        raise ValueError(f"no {SCANS[code]} line in the data")
    breaks = np.flatnonzero(np.diff(where) > 1)
    return where[breaks[-1] + 1:] if breaks.size else where


def raster_map(x, y, power) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x values, y values, power map of shape (len(y), len(x))) of raster readings; NaN
    where a grid point has no reading (an interrupted raster)."""
    xs, ys = np.unique(x), np.unique(y)
    out = np.full((ys.size, xs.size), np.nan)
    out[np.searchsorted(ys, y), np.searchsorted(xs, x)] = power
    return xs, ys, out


def align_figures(data: dict[str, np.ndarray], params: dict):
    """Every figure of an ``align`` step from its rows (see the module's docstring)."""
    scan = np.asarray(data["scan"]).astype(int)
    power = data["optical_power"]
    figures = {}
    raster = scan == RASTER
    if raster.any():
        xs, ys, grid = raster_map(data["x"][raster], data["y"][raster], power[raster])
        figures.update(raster_x=(xs, "m"), raster_y=(ys, "m"), raster_power=(grid, "W"))
    for axis, code in (("x", X_LINE), ("y", Y_LINE)):
        def fit(axis=axis, code=code):
            rows = last_line(scan, code)
            return gaussian_peak(data[axis][rows], power[rows])
        figure(figures, f"peak_{axis}", "m", lambda fit=fit: fit()[0])
        figure(figures, f"tolerance_{axis}", "m", lambda fit=fit: fit()[2])
    if np.any(scan == Z_LINE):
        figure(figures, "peak_z", "m",
               lambda: lorentzian_peak(*(v[last_line(scan, Z_LINE)]
                                         for v in (data["z"], power)))[0])
    elif scan.size:
        figures["peak_z"] = (float(data["z"][-1]), "m")
    bias = {"bias_current": (params["drive_current"], "A")}
    figure(figures, "peak_power", "W", lambda: float(power[last_line(scan, PEAK)][-1]),
           lambda: bias)
    emitted = params.get("emitted_power")

    def efficiency() -> float:
        if emitted is None:
            raise ValueError("emitted_power was not given")
        if emitted <= 0:
            raise ValueError("emitted_power is zero")
        return float(power[last_line(scan, PEAK)][-1]) / emitted
    figure(figures, "coupling_efficiency", "1", efficiency, lambda: bias)
    return figures
