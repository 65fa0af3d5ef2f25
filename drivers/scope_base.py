"""What the real-time scope drivers share: channel numbers and edge-trigger arguments
(ScopeChecks, also the Infiniium driver's), the plan check against a model's data-sheet limits,
the 10-field ``:WAVeform:PREamble?`` read and the check that a record was sampled as fast as
asked. The commands each driver sends stay in its own module.

A model declares ``channels``, ``bandwidth`` (Hz), ``max_average``, the vertical range
(``min_scale``, ``max_scale`` V/div) and its sample rate and record length by the number of
channels acquired together (``rate_for(n)``, ``memory_for(n)``): several models share one ADC
between channel pairs, so the rate a two-channel capture gets is not the brochure's maximum.
"""

from __future__ import annotations

from .base import InstrumentError, Range, ScpiInstrument, check_ranges


class ScopeChecks:
    """Argument checks every scope driver makes before it sends anything (the InfiniiVision,
    Tektronix MSO and Rigol drivers through RealTimeScope, the Infiniium driver directly)."""

    channels = 4

    def _check_channel(self, channel: int) -> int:
        if isinstance(channel, bool) or int(channel) != channel \
                or not 1 <= channel <= self.channels:
            raise ValueError(f"channel={channel!r} is not one of 1..{self.channels}")
        return int(channel)

    def _check_edge(self, channel: int, level: float, slope: str, slopes: dict[str, str],
                    level_limit: float) -> tuple[int, str]:
        """The channel and the instrument's word for ``slope`` (of ``slopes``) of an edge
        trigger at ``level`` within +-``level_limit`` V."""
        channel = self._check_channel(channel)
        if slope not in slopes:
            raise ValueError(f"slope={slope!r} is not one of {list(slopes)}")
        Range(-level_limit, level_limit).check("level", level)
        return channel, slopes[slope]


class RealTimeScope(ScopeChecks, ScpiInstrument):
    """Base of the InfiniiVision, Tektronix MSO and Rigol drivers (drivers.roles.Oscilloscope)."""

    model = "oscilloscope"
    channels = 4
    bandwidth = 1e9
    min_scale, max_scale = 1e-3, 5.0
    max_average = 65536
    min_points = 100
    divisions = 10  # horizontal divisions: the record spans 10 x s/div

    # what configure_timebase/set_averaging set, to size the acquisition's wait and to check
    # the record's sample rate
    _scale = 1.0
    _rate: float | None = None
    _count = 1

    @classmethod
    def rate_for(cls, channels: int) -> float:
        """Highest sample rate (Sa/s) with ``channels`` channels acquired."""
        raise NotImplementedError

    @classmethod
    def memory_for(cls, channels: int) -> int:
        """Longest record (points) with ``channels`` channels acquired."""
        raise NotImplementedError

    @classmethod
    def check_plan(cls, request: dict) -> list[str]:
        """``channels`` (numbers), then ``sample_rate`` and ``points`` against what the model
        reaches with that many channels, ``scale`` (V/div) and ``averaging``."""
        channels = request.get("channels", ())
        if not isinstance(channels, (list, tuple)):
            return [f"channels={channels!r} is not a list of channel numbers ({cls.model})"]
        problems = [f"channel {c!r} is not one of 1..{cls.channels} ({cls.model})"
                    for c in channels
                    if isinstance(c, bool) or c not in range(1, cls.channels + 1)]
        n = max(1, len(set(channels)))
        problems += check_ranges(f"{cls.model} ({n} channels on)", request, {
            "sample_rate": (0.0, cls.rate_for(n), "Sa/s"),
            "points": (cls.min_points, cls.memory_for(n), "points")})
        problems += check_ranges(cls.model, request, {
            "scale": (cls.min_scale, cls.max_scale, "V/div"),
            "averaging": (1, cls.max_average, "")})
        return problems

    @staticmethod
    def _whole(name: str, value, low: int, high: int) -> int:
        if isinstance(value, bool) or int(value) != value or not low <= value <= high:
            raise ValueError(f"{name}={value!r} must be a whole number in {low}..{high}")
        return int(value)

    def _check_rate(self, x_increment: float, command: str) -> None:
        """A record sampled slower than configure_timebase asked is refused, not passed off:
        the scope picks its rate from the timebase and memory (never clamp silently)."""
        if self._rate is not None and x_increment * self._rate > 1 + 1e-6:
            raise InstrumentError(self.name, command,
                                  f"the record is sampled at {1 / x_increment:.4g} Sa/s, below "
                                  f"the {self._rate:.4g} Sa/s asked (timebase, memory or "
                                  f"channels in use limit it)")

    def _read_preamble(self, format_code: int, format_name: str) -> list[float]:
        """The 10 fields of ``:WAVeform:PREamble?`` (<format>, <type>, <points>, <count>,
        <xincrement>, <xorigin>, <xreference>, <yincrement>, <yorigin>, <yreference>: the
        InfiniiVision and DS1000Z guides give the same layout), the format checked to be
        ``format_code`` and the record's sample rate to be the one asked."""
        text = self.query(":WAVeform:PREamble?")
        try:
            fields = [float(v) for v in text.split(",")]
            if len(fields) != 10:
                raise ValueError(f"expected 10 fields, got {len(fields)}")
        except ValueError as exc:
            raise InstrumentError(self.name, ":WAVeform:PREamble?",
                                  f"{exc}: {text[:80]!r}") from None
        if fields[0] != format_code:
            raise InstrumentError(self.name, ":WAVeform:PREamble?",
                                  f"format code {fields[0]:g}, expected {format_code} "
                                  f"({format_name})")
        self._check_rate(fields[4], ":WAVeform:PREamble?")
        return fields

    def acquisition_seconds(self) -> float:
        """Expected duration of one acquisition with averaging: per acquisition the record time
        (10 divisions x s/div) and 1 ms to re-arm, plus 1 s of processing. An estimate,
        UNVERIFIED: no timing is given in the manuals."""
        return self._count * (self.divisions * self._scale + 1e-3) + 1.0
