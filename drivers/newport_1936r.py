"""Newport 1936-R / 2936-R optical power meter, its ASCII command set over RS-232 (pyserial).

Written from the 1936-R/2936-R Series User's Manual: chapter 7 "Computer Interfacing" (the meter
has a USB and an RS-232 port; queries end in ``?``; ``;`` concatenates) and chapter 8
"Communication Command Reference" (8.3.3: ``PM:UNITs`` 8.3.3.101, ``PM:FILTer`` 8.3.3.48,
``PM:MAX:Power?`` 8.3.3.54, ``PM:MIN:Lambda?`` 8.3.3.55, ``PM:MODE`` 8.3.3.59, ``PM:RANge``
8.3.3.63; the root-level table lists ``ECHO``, ``ERRors?`` and ``ERRSTR?``). The commands are
"SCPI-like" but the meter is not an IEEE 488.2 instrument: no ``*CLS``, no ``SYSTem:ERRor?``.

Link: this driver uses the RS-232 port (``transport = "serial"``), directly or through a
USB-RS-232 adapter, so it runs on any pyserial port. The meter's own USB port needs Newport's
USB driver (a vendor DLL, not USBTMC) and is not used here.

On a 2936-R (two channels) commands address the channel selected with ``PM:CHANnel``, channel A
after a reset; this driver leaves the channel as found (A, after power-up).

UNVERIFIED (no manual page seen; taken from public drivers that talk to the meter): the line
settings 38400 baud 8N1, no handshake; ``<CR>`` ending a command and ``<CR><LF>`` an answer;
``ECHO 0``; the format of the ``ERRSTR?`` answer (a leading error code, 0 for none, is all this
driver reads of it); the arguments of ``PM:AUTO`` (0|1; the command is named by 8.3.3.63);
``PM:DIGITALFILTER`` taking the number of samples of a running average (0-10000) and its query;
``PM:MAX:Lambda?``.
"""

from __future__ import annotations

import contextlib
import math
import re
from typing import Any

from pyvisa.errors import VisaIOError

from .base import Choice, InstrumentError, Range, ScpiInstrument, Setting, check_ranges, plan_check

WATTS = 2            # PM:UNITs 2 (8.3.3.101)
DC_CONTINUOUS = 0    # PM:MODE 0 (8.3.3.59)
NO_FILTER, DIGITAL_FILTER = 0, 2  # PM:FILTer (8.3.3.48)
RANGES = range(8)    # PM:RANge 0..7, most sensitive first (8.3.3.63)
MAX_AVERAGING = 10000  # PM:DIGITALFILTER samples (UNVERIFIED)
IDN_PATTERN = r"(?i)\bnewport\b.*\b[12]936-r\b"  # "NEWPORT 1936-R v1.0.0 ... SN..." (UNVERIFIED)


def _identity(text: str) -> str:
    """An ``*IDN?`` answer of a 1936-R or 2936-R ("NEWPORT 1936-R v1.0.0 ... SN..."); anything
    else (a stale echo of an earlier command) is a ValueError, so the query is asked again."""
    text = text.strip()
    if not re.search(IDN_PATTERN, text):
        raise ValueError(f"not a 1936-R/2936-R identification: {text!r}")
    return text


def _error_code(text: str) -> tuple[int, str]:
    """``ERRSTR?``: the leading error code (0: no error) and the whole answer."""
    return int(text.strip().split(",", 1)[0]), text.strip()


class Newport1936R(ScpiInstrument):
    """1936-R (one channel) or 2936-R (channel A) with a photodiode or thermopile detector."""

    model = "1936-R"
    idn_pattern = IDN_PATTERN
    transport = "serial"
    serial_settings = {"baudrate": 38400, "bytesize": 8, "parity": "N", "stopbits": 1,
                       "xonxoff": False, "rtscts": False}
    write_termination = "\r"
    read_termination = "\r\n"
    # detector-independent bounds for a class-level check: Newport's 818/918D photodiodes and
    # 919P thermopiles span 190 nm to 11 um (UNVERIFIED); a connected meter narrows it to its
    # detector's calibration, read at connect (PM:MIN:Lambda?, PM:MAX:Lambda?)
    wavelength_range: tuple[float, float] = (190e-9, 11e-6)

    wavelength_nm = Setting("PM:Lambda {}", "PM:Lambda?", kind=int,
                            doc="Wavelength correction, whole nm (8.3.3.55: nm as int).")
    units = Setting("PM:UNITs {}", "PM:UNITs?", kind=int, check=Choice((0, 1, 2, 3, 4, 5, 6, 11)),
                    doc="0 A, 1 V, 2 W, 3 W/cm2, 4 J, 5 J/cm2, 6 dBm, 11 Sun (8.3.3.101).")
    mode = Setting("PM:MODE {}", "PM:MODE?", kind=int, check=Choice(tuple(range(8))),
                   doc="Acquisition mode, 0 = DC continuous (8.3.3.59).")
    auto_range = Setting("PM:AUTO {}", "PM:AUTO?", kind=int, check=Choice((0, 1)),
                         doc="Auto-ranging 1 on, 0 off (UNVERIFIED).")
    range_index = Setting("PM:RANge {}", "PM:RANge?", kind=int, check=Choice(tuple(RANGES)),
                          doc="Gain stage 0..7, most sensitive first (8.3.3.63).")
    filter_mode = Setting("PM:FILTer {}", "PM:FILTer?", kind=int, check=Choice((0, 1, 2, 3)),
                          doc="0 none, 1 analog, 2 digital, 3 both (8.3.3.48).")
    digital_filter = Setting("PM:DIGITALFILTER {}", "PM:DIGITALFILTER?", kind=int,
                             check=Range(0, MAX_AVERAGING),
                             doc="Samples in the running average (UNVERIFIED).")

    def __init__(self, resource, name: str | None = None):
        super().__init__(resource, name)
        self.wavelength_range = type(self).wavelength_range

    # -- the meter's own protocol ------------------------------------------------------------
    def connect(self) -> str:
        """Echo off (a meter found in echo mode echoes every character and prompts ``>``),
        identify, read the detector's calibrated wavelength range. Nothing else changes."""
        self.write("ECHO 0")
        with contextlib.suppress(VisaIOError, NotImplementedError, AttributeError):
            self.resource.clear()  # drops the echo of "ECHO 0", if the meter was echoing
        self.idn = self._exchange("*IDN?", self._read, _identity)
        low = self._exchange("PM:MIN:Lambda?", self._read, lambda t: int(float(t)))
        high = self._exchange("PM:MAX:Lambda?", self._read, lambda t: int(float(t)))
        if not 0 < low < high:
            raise InstrumentError(self.name, "PM:MAX:Lambda?",
                                  f"detector wavelength range {low}-{high} nm is not a range")
        self.wavelength_range = (low * 1e-9, high * 1e-9)
        self.errors()  # read and drop what the meter queued before we came
        return self.idn

    def errors(self) -> list[str]:
        """Errors since the last query (``ERRSTR?``); empty when its code is 0."""
        code, text = self._exchange("ERRSTR?", self._read, _error_code)
        return [] if code == 0 else [text]

    # -- the PowerMeter role ----------------------------------------------------------------
    @plan_check
    def check_plan(self, request: dict[str, Any]) -> list[str]:
        """``wavelength`` within the detector's calibration (connected) or the family's span
        (class), ``averaging`` 1..10000 samples of the digital filter."""
        low, high = self.wavelength_range
        return check_ranges(self.model, request, {"wavelength": (low, high, "m"),
                                                  "averaging": (1, MAX_AVERAGING, "")})

    def configure(self, *, wavelength: float, power_range: float | None = None,
                  averaging: int = 1) -> None:
        """DC continuous readings in W at the wavelength (set to the nearest whole nm, the
        meter's resolution), auto range or the most sensitive range whose full scale
        (``PM:MAX:Power?``) holds ``power_range`` W, and a running average of ``averaging``
        samples (digital filter; 1 = no filter). Every value is checked before the first
        command."""
        problems = self.check_plan({"wavelength": wavelength, "averaging": averaging})
        if isinstance(averaging, bool) or int(averaging) != averaging:
            problems.append(f"averaging={averaging!r} must be a whole number of samples")
        if power_range is not None and not (isinstance(power_range, (int, float))
                                            and math.isfinite(power_range) and power_range > 0):
            problems.append(f"power_range={power_range!r} must be a positive number of W")
        if problems:
            raise ValueError("; ".join(problems))
        self.mode = DC_CONTINUOUS
        self.units = WATTS
        self.wavelength_nm = round(wavelength * 1e9)
        if power_range is None:
            self.auto_range = 1
        else:
            self.auto_range = 0
            self._select_range(power_range)
        if averaging == 1:
            self.filter_mode = NO_FILTER
        else:
            self.digital_filter = int(averaging)
            self.filter_mode = DIGITAL_FILTER

    def _select_range(self, power: float) -> None:
        """The most sensitive gain stage whose full scale reaches ``power`` W (the stages'
        full scales depend on the detector: asked, not assumed)."""
        for index in RANGES:
            self.range_index = index
            full_scale = self.query_float("PM:MAX:Power?")
            if full_scale >= power:
                return
        raise InstrumentError(self.name, "PM:MAX:Power?",
                              f"no range of this detector reaches {power:g} W "
                              f"(the highest ends at {full_scale:g} W)")

    def read_power(self) -> float:
        """One reading in W (``PM:Power?``, in the units set: W)."""
        return self.query_float("PM:Power?")
