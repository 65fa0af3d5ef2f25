"""``align`` plots: the coarse raster as an image with the found peak and its 1 dB window
marked, and the last fine line of each axis in dB against the offset from the peak."""

from __future__ import annotations

import numpy as np

from bench.storage import StepRecord
from sequences.align import SCANS, last_line

from .axes import Plot, Plots, axis_label, display_scale, grid, new_figure, quantity, result_value


def plots(step: StepRecord, sample: dict) -> Plots:
    out = [raster_plot(step)]
    if any(code in np.asarray(step.data["scan"]).astype(int)
           for code in (SCANS.index("x"), SCANS.index("y"))):
        out.append(lines_plot(step))
    return out


def raster_plot(step: StepRecord) -> Plot:
    """Coupled power over the raster (x, y in um), the peak as a star and the ellipse where
    the fitted Gaussians have lost 1 dB."""
    xs = np.asarray(step.analysis["raster_x"], dtype=float)
    ys = np.asarray(step.analysis["raster_y"], dtype=float)
    grid_power = np.asarray(step.analysis["raster_power"], dtype=float)
    if grid_power.shape != (ys.size, xs.size) or xs.size < 2 or ys.size < 2:
        raise ValueError("raster_power must be len(raster_y) x len(raster_x), 2 x 2 at least")
    l_factor, l_unit = display_scale(np.concatenate([xs, ys]), "m")
    p_factor, p_unit = display_scale(grid_power, "W")
    fig, (ax,) = new_figure()
    half_x, half_y = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    extent = [l_factor * (xs[0] - half_x), l_factor * (xs[-1] + half_x),
              l_factor * (ys[0] - half_y), l_factor * (ys[-1] + half_y)]
    image = ax.imshow(p_factor * grid_power, origin="lower", extent=extent,
                      interpolation="nearest", cmap="viridis", aspect="equal")
    fig.colorbar(image, ax=ax, label=axis_label("coupled power", p_unit))
    px, py = result_value(step, "peak_x"), result_value(step, "peak_y")
    if px is not None and py is not None:
        power = result_value(step, "peak_power")
        ax.plot([l_factor * px], [l_factor * py], "*", color="red", ms=14, mec="white",
                label=f"peak ({quantity(px, 'm')}, {quantity(py, 'm')})"
                      + (f": {quantity(power, 'W')}" if power is not None else ""))
        tx, ty = result_value(step, "tolerance_x"), result_value(step, "tolerance_y")
        if tx is not None and ty is not None:
            angle = np.linspace(0, 2 * np.pi, 121)
            ax.plot(l_factor * (px + tx * np.cos(angle)), l_factor * (py + ty * np.sin(angle)),
                    "-", color="white", lw=1.2,
                    label=f"1 dB: \u00b1{quantity(tx, 'm')} in x, \u00b1{quantity(ty, 'm')} in y")
        ax.legend(loc="upper left", fontsize="small")
    ax.set_xlabel(axis_label("x", l_unit))
    ax.set_ylabel(axis_label("y", l_unit))
    ax.set_title(f"{step.name}: coupled power over the {xs.size} x {ys.size} raster")
    return ("raster", "Coarse raster of the coupled power against stage x and y; star: the "
                      "peak found by the fine line fits; ellipse: the 1 dB tolerances.", fig)


def lines_plot(step: StepRecord) -> Plot:
    """The last fine line of each axis: power in dB relative to the peak power against the
    offset from the peak; x and y on one panel with the -1 dB line and the tolerances, z (a
    wider line) on its own."""
    scan = np.asarray(step.data["scan"]).astype(int)
    power = np.asarray(step.data["optical_power"], dtype=float)
    reference = result_value(step, "peak_power") or float(np.nanmax(power))
    lines = {}
    for axis in ("x", "y", "z"):
        if np.any(scan == SCANS.index(axis)):
            rows = last_line(scan, SCANS.index(axis))
            peak = result_value(step, f"peak_{axis}")
            position = np.asarray(step.data[axis], dtype=float)[rows]
            with np.errstate(divide="ignore"):
                level = 10 * np.log10(power[rows] / reference)
            lines[axis] = (position - (peak if peak is not None else position.mean()), level)
    panels = [axes for axes in (("x", "y"), ("z",)) if any(a in lines for a in axes)]
    fig, axes = new_figure(1, len(panels), sharex=False)
    for ax, names in zip(axes, panels, strict=True):
        factor, unit = display_scale(np.concatenate([lines[a][0] for a in names if a in lines]),
                                     "m")
        lowest = 0.0
        for axis in names:
            if axis in lines:
                offset, level = lines[axis]
                ax.plot(factor * offset, level, "o-", ms=3, label=f"{axis} line")
                lowest = min(lowest, float(np.nanmin(np.where(np.isfinite(level), level, 0))))
        ax.axhline(-1.0, color="k", ls="--", lw=1, label="-1 dB")
        for axis, colour in (("x", "C0"), ("y", "C1")):
            tolerance = result_value(step, f"tolerance_{axis}") if axis in names else None
            if tolerance is not None:
                ax.plot(factor * np.array([-tolerance, tolerance]), [-1.0, -1.0], "|", ms=14,
                        mew=2, color=colour,
                        label=f"1 dB tolerance {axis} \u00b1{quantity(tolerance, 'm')}")
        ax.set_ylim(max(lowest, -12.0) - 0.5, 0.5)
        ax.set_xlabel(axis_label("offset from the peak", unit))
        ax.set_title("lateral" if names == ("x", "y") else "axial")
        grid(ax)
        ax.legend(loc="lower center", fontsize="small")
    axes[0].set_ylabel("coupled power relative to the peak (dB)")
    fig.suptitle(f"{step.name}: the last fine line of each axis")
    return ("lines", "Coupled power of the last fine line in x and y (left) and z (right), in "
                     "dB relative to the peak power, against the offset from the found peak; "
                     "the marks at -1 dB are the tolerances.", fig)
