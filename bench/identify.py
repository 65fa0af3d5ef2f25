"""Identification by ``*IDN?``: which driver answers like this instrument, what a VISA library sees.

``*IDN?`` (IEEE 488.2-1992, 10.14) is the one query every VISA instrument of the bench answers
without side effects; nothing else is ever sent to an unknown resource. Serial ports are not
probed: an unknown serial device may take ``*IDN?`` as a command of its own protocol (a stage
controller moving, a TEC changing its set-point), so a serial instrument is named in the station
with its driver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from common.errors import StationError
from drivers import DRIVERS, driver_class

IDN_TIMEOUT_MS = 2000  # per resource: long enough for a GPIB or LAN answer, short for a scan
SERIAL_NOTE = ("serial ports (ASRL) are not scanned: *IDN? sent to an unknown serial device "
               "can be a command of its own protocol; name serial instruments in the station")


def matching_drivers(idn: str) -> list[str]:
    """The VISA drivers whose ``idn_pattern`` matches an ``*IDN?`` answer (a driver without a
    pattern of its own matches nothing here)."""
    found = []
    for name in sorted(DRIVERS):
        cls = driver_class(name)
        if getattr(cls, "transport", "visa") != "visa" or cls.idn_pattern in ("", ".*"):
            continue
        if re.search(cls.idn_pattern, idn):
            found.append(name)
    return found


def query_idn(manager: Any, resource: str, timeout_ms: float = IDN_TIMEOUT_MS) -> str:
    """Open ``resource``, send ``*IDN?`` (newline terminated), read the answer, close. Raises
    StationError with one line when it cannot be opened or does not answer in time."""
    import pyvisa

    try:
        session = manager.open_resource(resource, open_timeout=int(timeout_ms))
    except (pyvisa.Error, ValueError, OSError) as exc:
        raise StationError(f"{resource}: cannot open ({exc})") from None
    try:
        session.timeout = timeout_ms
        session.write_termination = session.read_termination = "\n"
        session.write("*IDN?")
        return session.read().strip()
    except (pyvisa.Error, ValueError, OSError, UnicodeDecodeError) as exc:
        raise StationError(f"{resource}: no answer to *IDN? within {timeout_ms / 1000:g} s "
                           f"({exc})") from None
    finally:
        try:
            session.close()
        except (pyvisa.Error, OSError):
            pass


def identify(manager: Any, resource: str, timeout_ms: float = IDN_TIMEOUT_MS) -> tuple[str, str]:
    """(driver, idn) of the one driver that matches the resource's ``*IDN?``; StationError when
    none or several do."""
    idn = query_idn(manager, resource, timeout_ms)
    drivers = matching_drivers(idn)
    if len(drivers) != 1:
        which = "no driver" if not drivers else f"several drivers ({', '.join(drivers)})"
        raise StationError(f"{resource}: *IDN? {idn!r} matches {which}; name the driver in the "
                           f"station")
    return drivers[0], idn


@dataclass(frozen=True)
class Found:
    """One resource of a scan: its ``*IDN?`` answer (or why there is none) and the drivers
    that match it."""

    resource: str
    idn: str = ""
    problem: str = ""
    drivers: tuple[str, ...] = ()


def scan(manager: Any, timeout_ms: float = IDN_TIMEOUT_MS) -> tuple[list[Found], list[str]]:
    """Every resource the VISA library lists, asked ``*IDN?`` (serial ports skipped: see the
    module); returns what answered and the notes to print (the skipped ports)."""
    import pyvisa

    try:
        resources = manager.list_resources()
    except pyvisa.errors.VisaIOError:  # VI_ERROR_RSRC_NFOUND: the library sees nothing
        resources = ()
    found, skipped = [], []
    for resource in resources:
        if resource.upper().startswith("ASRL"):
            skipped.append(resource)
            continue
        try:
            idn = query_idn(manager, resource, timeout_ms)
        except StationError as exc:
            found.append(Found(resource, problem=str(exc).split(": ", 1)[-1]))
            continue
        found.append(Found(resource, idn=idn, drivers=tuple(matching_drivers(idn))))
    notes = [f"{SERIAL_NOTE} (skipped: {', '.join(skipped)})"] if skipped else [SERIAL_NOTE]
    return found, notes
