"""``array-map`` plots: the forward voltage, optical power and reverse current maps as images
with every emitter that is not good marked by its class, the classification map, and
histograms of the optical power and forward voltage of the conducting emitters (thresholds
and medians marked)."""

from __future__ import annotations

import numpy as np

from bench.storage import StepRecord
from sequences.array_map import CLASSES, DEAD, GOOD, SHORT, WEAK, short_voltage

from .axes import (
    Plot,
    Plots,
    axis_label,
    display_scale,
    grid,
    new_figure,
    quantity,
    result_value,
)

MARKERS = {"weak": "v", "leaky": "^", "dead": "x", "short": "s"}  # good: unmarked
COLOURS = ("#2e9e44", "#f0b400", "#e07b00", "#303030", "#c00020")  # by CLASSES


def plots(step: StepRecord, sample: dict) -> Plots:
    return [maps_plot(step), classification_plot(step), histograms_plot(step, sample)]


def _classes(step: StepRecord) -> np.ndarray:
    classes = np.asarray(step.analysis["classification_map"], dtype=float)
    if classes.ndim != 2:
        raise ValueError("classification_map must be a 2-D array")
    return classes


def _mark_classes(ax, classes: np.ndarray, legend: bool) -> None:
    """A marker on every emitter that is not good, by class."""
    for code, name in enumerate(CLASSES):
        if name not in MARKERS:
            continue
        rows, columns = np.nonzero(classes == code)
        if rows.size:
            ax.plot(columns, rows, MARKERS[name], ms=5, mfc="none", mew=1.2, color="red",
                    label=f"{name} ({rows.size})" if legend else None)


def _image(fig, ax, values: np.ndarray, units: str, label: str, good: np.ndarray,
           log: bool = False):
    """One map as an image; a linear colour scale spans the good emitters (the others, far
    off, would flatten it: below it they are dark grey, above it white), a log one them all."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm, Normalize

    factor, unit = display_scale(values, units)
    shown = factor * values
    cmap = colormaps["viridis"].with_extremes(under="#404040", over="#ffffff", bad="#ffffff")
    if log:
        positive = shown[np.isfinite(shown) & (shown > 0)]
        shown = np.where(shown > 0, shown, np.nan)
        norm = LogNorm(positive.min(), positive.max()) \
            if positive.size and positive.max() > positive.min() else None
        extend = "neither"
    else:
        inside = shown[good & np.isfinite(shown)]
        norm = Normalize(inside.min(), inside.max()) \
            if inside.size and inside.max() > inside.min() else None
        extend = "both" if norm is not None else "neither"
    image = ax.imshow(shown, origin="upper", interpolation="nearest", cmap=cmap, norm=norm,
                      aspect="equal")
    fig.colorbar(image, ax=ax, label=axis_label(label, unit) + (", log scale" if log else ""),
                 shrink=0.85, extend=extend)
    ax.set_xlabel("column (index)")
    ax.set_ylabel("row (index)")
    return image


def maps_plot(step: StepRecord) -> Plot:
    """Vf, optical power and |reverse current| (log colour scale) as rows x columns images,
    row 0 at the top as the array is seen from above; non-good emitters marked."""
    classes = _classes(step)
    fig, axes = new_figure(1, 3, height=3.6, sharex=False)
    fig.set_size_inches(11.0, 3.8)
    panels = (("forward_voltage_map", "forward voltage", False, np.asarray),
              ("optical_power_map", "optical power", False, np.asarray),
              ("reverse_current_map", "|reverse current|", True, np.abs))
    for k, (ax, (name, label, log, transform)) in enumerate(zip(axes, panels, strict=True)):
        values = transform(np.asarray(step.analysis[name], dtype=float))
        if values.shape != classes.shape:
            raise ValueError(f"{name} and classification_map differ in shape")
        _image(fig, ax, values, step.analysis_units.get(name, ""), label, classes == GOOD,
               log)
        _mark_classes(ax, classes, legend=k == 0)
        ax.set_title(label)
    if any(ax.get_legend_handles_labels()[0] for ax in axes[:1]):
        fig.legend(loc="outside lower center", ncols=4, fontsize="small")
    rows, columns = classes.shape
    fig.suptitle(f"{step.name}: {rows} x {columns} emitter maps at "
                 f"{quantity(step.params['reference_current'], 'A')} and "
                 f"{quantity(step.params['reverse_voltage'], 'V')}")
    return ("maps", "Forward voltage and optical power at the reference current (colour "
                    "scales spanning the good emitters: dark grey below, white above), |reverse "
                    "current| at the reverse bias (log colour scale), per emitter (row 0 at "
                    "the top); markers: emitters classified weak, leaky, dead or short; white: "
                    "not tested or no current.", fig)


def classification_plot(step: StepRecord) -> Plot:
    """The classification map in one colour per class, with the counts and the yield."""
    from matplotlib.colors import BoundaryNorm, ListedColormap

    classes = _classes(step)
    fig, (ax,) = new_figure()
    cmap = ListedColormap(COLOURS).with_extremes(bad="#ffffff")
    norm = BoundaryNorm(np.arange(len(CLASSES) + 1) - 0.5, len(CLASSES))
    image = ax.imshow(np.ma.masked_invalid(classes), origin="upper", interpolation="nearest",
                      cmap=cmap, norm=norm, aspect="equal")
    counts = [int(np.count_nonzero(classes == code)) for code in range(len(CLASSES))]
    bar = fig.colorbar(image, ax=ax, ticks=range(len(CLASSES)), label="class")
    bar.ax.set_yticklabels([f"{name} ({n})" for name, n in zip(CLASSES, counts, strict=True)])
    ax.set_xlabel("column (index)")
    ax.set_ylabel("row (index)")
    value = result_value(step, "yield")
    shown = f", yield {100 * value:.1f} %" if value is not None else ""
    ax.set_title(f"{step.name}: classification of {int(np.isfinite(classes).sum())} "
                 f"emitters{shown}")
    return ("classes", "Class of every emitter (row 0 at the top; white: not tested), with the "
                       "count of each class; thresholds in the step's parameters.", fig)


def histograms_plot(step: StepRecord, sample: dict) -> Plot:
    """Histograms of the optical power and the forward voltage of the conducting emitters
    (neither open nor shorted): median, weak and dead thresholds marked on the power; the
    short threshold on Vf when it falls in range."""
    classes = _classes(step)
    power = np.asarray(step.analysis["optical_power_map"], dtype=float)
    vf = np.asarray(step.analysis["forward_voltage_map"], dtype=float)
    conducting = np.isfinite(classes) & np.isfinite(vf) & (classes != SHORT)
    fig, (left, right) = new_figure(1, 2, sharex=False)
    factor, p_unit = display_scale(power[conducting], "W")
    p_shown = factor * power[conducting]
    bins = max(10, min(60, int(np.sqrt(max(p_shown.size, 1))) * 2))
    for ax, values, colour in ((left, p_shown, "C0"), (right, vf[conducting], "C1")):
        ax.hist(values[np.isfinite(values)], bins=bins, color=colour, alpha=0.8)
        ax.set_ylabel("emitters (count)")
        grid(ax)
    median = result_value(step, "median_optical_power")
    if median is not None:
        for fraction, style, what in ((1.0, "-", "median"),
                                      (step.params["weak_fraction"], "--", "weak below"),
                                      (step.params["dead_fraction"], ":", "dead below")):
            left.axvline(factor * fraction * median, color="k", ls=style,
                         label=f"{what} {quantity(fraction * median, 'W')}")
        left.legend(loc="best", fontsize="small")
    good = np.isfinite(classes) & (classes == GOOD)
    if good.any():
        right.axvline(float(np.median(vf[good])), color="k", ls="-",
                      label=f"median of good {np.median(vf[good]):.3f} V")
    threshold = short_voltage(step.params, sample["wavelength"])
    if vf[conducting].size and threshold >= np.nanmin(vf[conducting]) - 0.1:
        right.axvline(threshold, color="C3", ls=":", label=f"short below {threshold:.2f} V")
    if right.get_legend_handles_labels()[0]:
        right.legend(loc="best", fontsize="small")
    left.set_xlabel(axis_label("optical power", p_unit))
    right.set_xlabel(axis_label("forward voltage", "V"))
    counts = {name: int(np.count_nonzero(classes == code)) for code, name in
              ((WEAK, "weak"), (DEAD, "dead"))}
    left.set_title("optical power")
    right.set_title("forward voltage")
    fig.suptitle(f"{step.name}: distributions over {int(conducting.sum())} conducting "
                 f"emitters at {quantity(step.params['reference_current'], 'A')}")
    return ("histograms", f"Optical power and forward voltage of the emitters that conduct "
                          f"(neither open nor shorted; {counts['weak']} weak and "
                          f"{counts['dead']} dark among them), with the classification "
                          f"thresholds.", fig)
