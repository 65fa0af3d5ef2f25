"""The report's plots: one module per sequence (``bench.plots.<sequence>``, ``-`` as ``_``),
each with ``plots(step, sample)`` returning ``[(file-name part, caption, Figure)]``;
:mod:`bench.plots.generic` draws any sequence without its own module; :mod:`bench.plots.axes`
holds what they share (figures, display units, labels). Imported only when a report is made
(matplotlib)."""
