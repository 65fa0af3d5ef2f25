"""The 34980A's exact command exchange against a scripted resource (no simulator), written from
the 34980A Programmer's Reference, ROUTe subsystem (ROUTe:OPEN:ALL, ROUTe:OPEN, ROUTe:CLOSe,
ROUTe:CLOSe?), with matrix channels numbered srcc (slot, row, two-digit column)."""

from __future__ import annotations

import pytest

from drivers.base import InstrumentError
from drivers.keysight_34980a import Keysight34980A
from tests.conftest import ScriptedResource

IDN = "Agilent Technologies,34980A,MY44001234,2.51-2.43-2.43-2.40"


def switch_with(script, **options) -> tuple[Keysight34980A, ScriptedResource]:
    resource = ScriptedResource([("*IDN?", IDN), ("*CLS", None), *script])
    options = Keysight34980A.check_options(options or {"rows": 16, "columns": 32})
    switch = Keysight34980A(resource, name="switch", **options)
    switch.connect()
    return switch, resource


def test_select_breaks_every_route_of_the_array_then_makes_one_and_reads_it_back():
    # 16 x 32 emitters on 34932A (8 x 16) modules: 4 blocks on slots 1-4, row-major
    opens = [*[(f"ROUTe:OPEN:ALL {slot}", None) for slot in (1, 2, 3, 4)], ("*OPC?", "1")]
    switch, resource = switch_with([
        *opens, ("ROUTe:CLOSe (@4216)", None), ("ROUTe:CLOSe? (@4216)", "1"),
        *opens, ("ROUTe:CLOSe (@1101)", None), ("ROUTe:CLOSe? (@1101)", "1"),
        *opens, ("ROUTe:CLOSe (@2105)", None), ("ROUTe:CLOSe? (@2105)", "1")])
    switch.select(9, 31)   # block (1, 1) -> slot 4, matrix row 2, column 16
    switch.select(0, 0)
    switch.select(0, 20)   # block (0, 1) -> slot 2, column 5
    resource.done()


def test_open_all_opens_each_slot_and_waits_for_the_relays():
    switch, resource = switch_with([("ROUTe:OPEN:ALL 3", None), ("ROUTe:OPEN:ALL 5", None),
                                    ("*OPC?", "1")], rows=4, columns=20, slots=[3, 5])
    switch.open_all()
    resource.done()


def test_selected_reads_the_relay_state_of_every_emitter_channel():
    channels = "1101,1102,1103,1201,1202,1203"
    switch, resource = switch_with([(f"ROUTe:CLOSe? (@{channels})", "0,0,0,0,1,0"),
                                    (f"ROUTe:CLOSe? (@{channels})", "0,0,0,0,0,0"),
                                    (f"ROUTe:CLOSe? (@{channels})", "1,0,0,0,1,0")],
                                   rows=2, columns=3)
    assert switch.selected() == (1, 1)
    assert switch.selected() is None
    with pytest.raises(InstrumentError, match="2 emitters are connected at once"):
        switch.selected()
    resource.done()


def test_a_channel_that_does_not_read_closed_is_an_error():
    switch, resource = switch_with([
        ("ROUTe:OPEN:ALL 1", None), ("*OPC?", "1"), ("ROUTe:CLOSe (@1101)", None),
        ("ROUTe:CLOSe? (@1101)", "0"), ("SYSTem:ERRor?", '+0,"No error"')], rows=2, columns=2)
    with pytest.raises(InstrumentError, match="reads '0', not closed"):
        switch.select(0, 0)
    resource.done()


@pytest.mark.parametrize("row, column", [(2, 0), (0, 3), (-1, 0), (0.5, 0), (True, 0)])
def test_an_emitter_off_the_array_sends_nothing(row, column):
    switch, resource = switch_with([], rows=2, columns=3)
    with pytest.raises(ValueError, match="outside"):
        switch.select(row, column)
    resource.done()


@pytest.mark.parametrize("options, problem", [
    ({"rows": 2}, "needs option columns"),
    ({"rows": 2, "columns": 3, "relays": 1}, "unknown option"),
    ({"rows": 40, "columns": 40}, "need 15 34932A modules"),
    ({"rows": 2, "columns": 3, "module": "34937A"}, "not one of"),
    ({"rows": 16, "columns": 16, "slots": [1]}, "must list 2 slot"),
    ({"rows": 16, "columns": 16, "slots": [1, 1]}, "repeats a slot"),
    ({"rows": 8, "columns": 8, "slots": [9]}, "slot must be an integer in"),
    ({"rows": 0, "columns": 3}, "rows must be an integer"),
])
def test_bad_options_are_refused_in_one_line(options, problem):
    with pytest.raises(ValueError, match=problem):
        Keysight34980A.check_options(options)


def test_check_plan_refuses_an_array_larger_than_the_wiring():
    switch, _ = switch_with([], rows=4, columns=4)
    assert switch.check_plan({"rows": 4, "columns": 4}) == []
    assert switch.check_plan({"rows": 5}) == [
        "rows=5 is outside the switch's 1 to 4 wired rows (34980A)"]
    assert Keysight34980A.check_plan({"rows": 2000})
