"""The simulated instruments' command matching and refusals, talked to in raw SCPI.

Expected behaviour comes from IEEE 488.2 / SCPI-99 (short and long forms, optional nodes, numeric
suffixes, -113 for an unknown header and no answer to an unknown query) and from each model's
manual (81134A level window and amplitude, pulse width under [:SOURce]:PULSe:WIDTh; E5071C
frequency range by test-set option; 2450 sweep parameters and failAbort), never from the drivers.
"""

from __future__ import annotations

import numpy as np
import pytest
import pyvisa

from sim_instruments.backend import SimulatedWorld, open_simulated_bench
from sim_instruments.chip import ChipParameters
from sim_instruments.scpi import CommandTree, split_params

RESOURCES = {"smu": ("USB0::0x05E6::0x2450::04400001::INSTR", "keithley2450"),
             "generator": ("GPIB0::10::INSTR", "keysight_81134a"),
             "vna": ("TCPIP0::192.168.1.20::inst0::INSTR", "keysight_e5071c"),
             "meter": ("USB0::0x1313::0x8078::P0012345::INSTR", "thorlabs_pm100d")}
ERROR_QUERY = {"smu": ":SYSTem:ERRor?", "generator": ":SYSTem:ERRor?", "vna": ":SYSTem:ERRor?",
               "meter": "SYSTem:ERRor?"}


@pytest.fixture
def raw():
    """Factory ``raw(name, **simulation)``: a pyvisa resource on one simulated instrument."""
    managers = []

    def make(name, simulation=None, **chip):
        config = {**(simulation or {}), "chip": chip}
        world = SimulatedWorld.from_config(config)
        resource, model = RESOURCES[name]
        manager = open_simulated_bench({resource: model}, world, names={resource: name})
        managers.append(manager)
        instrument = manager.open_resource(resource, read_termination="\n",
                                           write_termination="\n", timeout=100)
        instrument.world = world
        instrument.errors = lambda: drain(instrument, ERROR_QUERY[name])
        return instrument

    yield make
    for manager in managers:
        manager.close()


def drain(instrument, query: str) -> list[int]:
    codes = []
    while True:
        code = int(instrument.query(query).split(",")[0])
        if code == 0:
            return codes
        codes.append(code)


def unanswered(instrument, query: str) -> bool:
    try:
        instrument.query(query)
    except pyvisa.VisaIOError as exc:
        return exc.error_code == pyvisa.constants.VI_ERROR_TMO
    return False


# -- the matcher -----------------------------------------------------------------------------
def test_header_forms_match_as_scpi_says():
    tree = CommandTree(["[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]",
                        ":CHANnel#:SCALe", ":OUTPut#[:STATe]"], keywords=["CHANnel"])
    header = "[:SOURce#]:CURRent[:LEVel][:IMMediate][:AMPLitude]"
    for text in (":SOURce:CURRent 1", "sour:curr 1", ":SOUR1:CURR:LEV:IMM:AMPL 1",
                 "CURR 1", ":curr:ampl 1", ":SOURCE:CURRENT:LEVEL 1"):
        command = tree.parse(text)
        assert command is not None and command.header == header, text
        assert command.suffixes == (1,) and not command.query
    assert tree.parse(":SOUR2:CURR?").suffixes == (2,) and tree.parse(":SOUR2:CURR?").query
    assert tree.parse(":chan3:scal 0.1").suffixes == (3,)
    for text in (":SOURc:CURR 1", ":SOU:CURR 1", ":CURR:LEVEL:LEVEL 1", ":CHAN:SCAL:X 1",
                 ":OUTPut:STATe1 ON"):  # neither short nor long form, or a suffix not allowed
        assert tree.parse(text) is None, text
    assert tree.keyword("chan2") == "CHANNEL2" and tree.keyword("CHANNEL2") == "CHANNEL2"
    assert split_params(' 1e-3 , "a,b" ,#15ab,cd, HEX') == ("1e-3", '"a,b"', "#15ab,cd", "HEX")


def test_smu_takes_every_spelling_of_a_real_command(raw):
    smu = raw("smu")
    for text, expected in ((":SOURce:CURRent:VLIMit 4", 4.0), (":sour:curr:vlim 2.5E+00", 2.5),
                           (":SOUR1:CURR:VLIM:LEV +.5", 0.5), ("SOUR:CURR:VLIM\t3", 3.0)):
        smu.write(text)
        assert float(smu.query(":SOUR:CURR:VLIM?")) == expected, text
    smu.write(":SOUR:FUNC VOLTage")
    assert smu.query(":SOURce1:FUNCtion:MODE?") == "VOLT"
    smu.write(":func:mode curr")  # [:SOURce[1]]:FUNCtion[:MODE] (manual 6-72)
    assert smu.query(":SOUR:FUNC?") == "CURR"
    smu.write(':sens:func "CURR"')
    smu.write(":SENS:CURR:NPLC 0.5")
    assert float(smu.query(":CURRent:NPLCycles?")) == 0.5  # [:SENSe] is the default root
    smu.write(":OUTP:STAT ON")
    assert smu.query(":OUTPut?") == "1"  # SCPI booleans are answered 1 / 0
    smu.write(":outp off")
    assert smu.query(":OUTP:STAT?") == "0"
    assert smu.errors() == []


def test_unknown_commands_queue_113_and_unknown_queries_get_no_answer(raw):
    smu = raw("smu")
    smu.write(":SOURce:FOO 1")
    assert unanswered(smu, ":SOURce:BAR?")
    assert unanswered(smu, ":SOURce:CURRent:VLIMit:LEVel:LEVel?")
    assert smu.errors() == [-113, -113, -113]
    smu.write(":SOUR:CURR:VLIM nan")  # not a SCPI number
    smu.write(":SOUR:CURR:VLIM 500")  # outside the 2450's range
    smu.write(":SOUR:FUNC RESistance")  # not one of its choices
    assert smu.errors() == [-224, -222, -224]
    assert float(smu.query(":SOUR:CURR:VLIM?")) == 21.0  # unchanged


# -- 81134A ------------------------------------------------------------------------------------
def test_generator_refuses_levels_outside_window_and_amplitude_at_every_step(raw):
    gen = raw("generator")  # *RST levels: high 0.5 V, low 0 V
    for text, code in ((":VOLTage1:HIGH 0.03", -221),  # 30 mV amplitude: below 50 mV
                       (":VOLT:LOW 0.47", -221), (":SOUR:VOLT1:LEV:IMM:HIGH 3.5", -222),
                       (":VOLT1:LOW -2.5", -222), (":VOLT1:LOW -1.6", -221),  # 2.1 V amplitude
                       (":VOLT1:HIGH -0.1", -221)):
        gen.write(text)
        assert gen.errors() == [code], text
        assert (float(gen.query(":VOLT1:HIGH?")), float(gen.query(":VOLT1:LOW?"))) == (0.5, 0.0)
    gen.write(":VOLT1:LOW 0.45")  # exactly 50 mV: allowed
    gen.write(":SOURce:VOLTage1:HIGH 2.45")  # exactly 2 V
    assert gen.errors() == []
    assert float(gen.query(":VOLT:HIGH?")) == 2.45


def test_generator_pulse_width_lives_under_pulse_width(raw):
    gen = raw("generator")
    gen.write(":PULSe:WIDTh1 2e-9")
    assert float(gen.query(":SOURce:PULSe:WIDTh1?")) == 2e-9
    gen.write(":puls:widt 3E-9")
    assert float(gen.query(":PULS:WIDT?")) == 3e-9
    assert gen.errors() == []
    assert unanswered(gen, ":WIDTh1?")  # no command of the family
    gen.write(":WIDTh1 1e-9")
    assert gen.errors() == [-113, -113]
    assert float(gen.query(":PULS:WIDT1?")) == 3e-9


# -- E5071C ------------------------------------------------------------------------------------
@pytest.mark.parametrize("options, low, high", [(None, 9e3, 8.5e9), ("285", 100e3, 8.5e9),
                                                ("245,008", 100e3, 4.5e9), ("2K5", 300e3, 20e9),
                                                ("4D5", 300e3, 14e9)])
def test_vna_frequency_range_follows_its_option(raw, options, low, high):
    simulation = None if options is None else {"initial_state": {"vna": {"options": options}}}
    vna = raw("vna", simulation)
    assert vna.query("*OPT?") == (options or "280")
    assert float(vna.query(":SENS1:FREQ:STOP?")) == high  # preset: the option's top
    vna.write(f":SENSe1:FREQuency:STOP {high}")
    vna.write(f":SENS:FREQ:STAR {low}")
    assert vna.errors() == []
    vna.write(f":SENS1:FREQ:STOP {high * 1.01}")
    vna.write(f":SENS1:FREQ:STAR {low * 0.99}")
    assert vna.errors() == [-222, -222]
    assert float(vna.query(":SENS1:FREQ:STAR?")) == low
    assert float(vna.query(":SENS1:FREQ:STOP?")) == high


# -- 2450 sweeps -------------------------------------------------------------------------------
def compliance_index(world, levels, limit) -> int:
    """Index of the first level whose steady-state voltage exceeds the limit (chip truth)."""
    return int(np.argmax(world.chip.steady_state(levels).voltage > limit))


@pytest.mark.parametrize("tail, aborts", [("", True), (", 0, 1, BEST, ON", True),
                                          (", -1, 1, AUTO, OFF, OFF, \"defbuffer1\"", False),
                                          (",0,1,best,off,off", False)])
def test_sweep_aborts_at_compliance_when_fail_abort_is_on(raw, tail, aborts):
    smu = raw("smu", noise=0.0)
    smu.write(":SOUR:FUNC CURR")
    smu.write(":SOUR:CURR:VLIM 3.2")
    levels = np.linspace(1e-5, 5e-3, 50)
    stop = compliance_index(smu.world, levels, 3.2)
    assert 5 < stop < 45
    smu.write(f":SOURce:SWEep:CURRent:LINear 1e-5, 5e-3, 50{tail}")
    smu.write(":INIT")
    count = stop + 1 if aborts else 50
    assert int(smu.query(':TRACe:ACTual? "defbuffer1"')) == count
    assert int(smu.query(":TRAC:ACT?")) == count
    data = np.array(smu.query(f':TRAC:DATA? 1, {count}, "defbuffer1", READ, SOUR').split(","),
                    dtype=float).reshape(-1, 2)
    np.testing.assert_allclose(data[:stop, 0], smu.world.chip.steady_state(levels[:stop]).voltage,
                               rtol=1e-6)  # ASCII: 7 significant digits
    assert data[stop, 0] == 3.2  # the point in compliance is kept, at the limit
    assert smu.errors() == []


def test_sweep_count_dual_and_log(raw):
    smu = raw("smu", noise=0.0)
    smu.write(":SOUR:CURR:VLIM 6")
    smu.write(":SOUR:SWE:CURR:LOG 1e-6, 1e-3, 4, 0, 2, BEST, ON, ON")
    smu.write(":INIT")
    assert int(smu.query(":TRAC:ACT?")) == 16  # 4 up, 4 down, twice
    sources = np.array(smu.query(":TRAC:DATA? 1, 16, \"defbuffer1\", SOUR").split(","), float)
    one = np.array([1e-6, 1e-5, 1e-4, 1e-3])
    np.testing.assert_allclose(sources, np.tile(np.concatenate([one, one[::-1]]), 2), rtol=1e-12)
    assert smu.world.current_history[-1] == 0.0  # output was off: back off after the sweep
    smu.write(":SOUR:SWE:CURR:LOG 0, 1e-3, 4")  # a log sweep cannot start at 0
    smu.write(':SOUR:SWE:CURR:LIN 0, 1e-3, 4, 0, 1, BEST, ON, OFF, "mybuffer"')
    smu.write(":SOUR:SWE:CURR:LIN 0, 2, 4")  # 2 A: beyond the 2450
    assert smu.errors() == [-222, -224, -222]


def test_list_sweep_and_its_defaults(raw):
    smu = raw("smu", noise=0.0)
    smu.write(":SOUR:LIST:CURR 1e-4, 2e-4,3e-4")
    smu.write(":SOUR:LIST:CURR:APP 4e-4")
    smu.write(":SOUR:SWE:CURR:LIST 2")
    smu.write(":INIT")
    assert int(smu.query(":TRAC:ACT?")) == 3
    sources = np.array(smu.query(":TRAC:DATA? 1, 3, \"defbuffer1\", SOUR").split(","), float)
    np.testing.assert_allclose(sources, [2e-4, 3e-4, 4e-4])
    assert smu.errors() == []


def test_a_thousand_point_sweep_is_one_vectorised_pass(raw):
    smu = raw("smu")
    smu.write(":SOUR:CURR:VLIM 6")
    smu.write(":SOUR:SWE:CURR:LIN 1e-6, 8e-3, 1000, 0, 1, BEST, ON")
    smu.write(":INIT")
    assert int(smu.query(":TRAC:ACT?")) == 1000
    world = smu.world
    np.testing.assert_allclose(world.current_history[:1000], np.linspace(1e-6, 8e-3, 1000))


def test_meter_reads_through_short_forms(raw):
    meter = raw("meter", noise=0.0)
    meter.write("sens:corr:wav 450")
    assert float(meter.query("SENSe1:CORRection:WAVelength?")) == 450.0
    assert float(meter.query("MEAS:POW?")) == pytest.approx(0.0, abs=1e-9)  # chip unpowered
    assert meter.errors() == []


def test_chip_parameters_the_sim_uses_are_the_ones_given(raw):
    smu = raw("smu", diameter=30e-6)
    assert smu.world.chip_params == ChipParameters(diameter=30e-6)


def test_the_pyvisa_sim_internals_the_backend_relies_on():
    """pyvisa-sim 0.7 private parts used by sim_instruments/backend.py (pinned >=0.7,<0.8): the
    YAML loader, a device's dialogues / properties / error queues / terminations, a property's
    specs and value, an error queue's list."""
    from importlib import resources

    from pyvisa_sim import parser
    from pyvisa_sim.component import NoResponse

    path = str(resources.files("sim_instruments").joinpath("keithley2450.yaml"))
    loader = parser.Loader(path, False)
    device_dict = loader.get_device_dict("keithley2450", None, False, 1)
    device = parser.get_device("keithley2450", device_dict, loader, {})
    assert b"*IDN?" in device._dialogues and device._dialogues[b"*CLS"] is NoResponse
    prop = device._properties["voltage_limit"]
    assert prop.specs.type is float and prop.specs.max == 210.0 and prop.get_value() == 21.0
    with pytest.raises(ValueError):
        prop.set_value(500.0)
    queue = device._error_queues[b":SYSTem:ERRor?"]
    device.error_response("command_error")
    assert queue._queue and queue.value.startswith(b"-113") and queue._queue == []
    assert device_dict["properties"]["voltage_limit"]["setter"]["q"] == \
        ":SOURce:CURRent:VLIMit {}"


ALL_MODELS = {"keithley2450": "USB0::0x05E6::0x2450::04400001::INSTR",
              "keysight_81134a": "GPIB0::10::INSTR",
              "keysight_e5071c": "TCPIP0::192.168.1.20::inst0::INSTR",
              "keysight_infiniium": "TCPIP0::192.168.1.21::hislip0::INSTR",
              "thorlabs_pm100d": "USB0::0x1313::0x8078::P0012345::INSTR"}


def short_form(text: str) -> str:
    """SCPI short form of a long-form message: each mnemonic's upper-case letters and digits
    (IEEE 488.2 7.6.1.2), in lower case to show case does not matter."""
    def shorten(word: str) -> str:
        if not word[:1].isalpha():
            return word
        return "".join(c for c in word if c.isupper() or c.isdigit()) or word

    head, _, rest = text.partition(" ")
    query = head.endswith("?")
    head = ":".join(shorten(w) for w in head.rstrip("?").split(":")) + ("?" if query else "")
    params = ",".join(shorten(p.strip()) for p in rest.split(",")) if rest else ""
    return (head + (" " + params if params else "")).lower()


@pytest.mark.parametrize("model", sorted(ALL_MODELS))
def test_every_yaml_query_answers_the_same_in_short_and_long_form(model):
    """Each getter the YAML declares (long forms, as in the manuals) answers identically when
    sent in its short form, lower case; nothing is queued."""
    from importlib import resources

    from pyvisa_sim import parser

    from sim_instruments.models import MODELS

    path = str(resources.files("sim_instruments").joinpath(MODELS[model][0]))
    loader = parser.Loader(path, False)
    spec = loader.get_device_dict(model, None, False, 1)
    queries = [p["getter"]["q"] for p in spec["properties"].values() if "getter" in p]
    assert len(queries) >= 4
    manager = open_simulated_bench({ALL_MODELS[model]: model}, SimulatedWorld())
    try:
        instrument = manager.open_resource(ALL_MODELS[model], read_termination="\n",
                                           write_termination="\n", timeout=100)
        error_query = next(iter(spec["error"]["error_queue"]))["q"]
        for query in queries:
            assert instrument.query(short_form(query)) == instrument.query(query), query
        assert drain(instrument, error_query) == []
    finally:
        manager.close()


def test_scope_error_query_answers_the_code_alone_without_string():
    """Infiniium :SYSTem:ERRor? [{NUMBer | STRing}]: NUMBer (the default) gives the code only."""
    resource = "TCPIP0::192.168.1.21::hislip0::INSTR"
    manager = open_simulated_bench({resource: "keysight_infiniium"}, SimulatedWorld())
    try:
        scope = manager.open_resource(resource, read_termination="\n", write_termination="\n",
                                      timeout=100)
        scope.write(":CHAN1:FOO 1")
        scope.write(":CHAN1:BAR 1")
        assert scope.query(":SYST:ERR?") == "-113"
        assert scope.query(":syst:err? str") == '-113,"Undefined header"'
        assert scope.query(":SYSTem:ERRor? NUMBer") == "0"
    finally:
        manager.close()
