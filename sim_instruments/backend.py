"""The simulated bench under pyvisa: a pyvisa-sim library whose devices obey a Micro LED's physics.

Each simulated instrument is a pyvisa-sim ``Device`` built from the model's YAML file (IDN, settings
with their specs, error queue, terminations) plus a Python *model* (``sim_instruments/models/``)
that answers measured and binary queries from the shared :class:`SimulatedWorld`. Drivers cannot
tell this library from a real VISA: the difference lives entirely below pyvisa.

Departures from stock pyvisa-sim, all on purpose:
- commands are matched as SCPI instruments match them (``sim_instruments/scpi.py``): through the
  model's command tree written from its manual, short or long forms, optional nodes, numeric
  suffixes, parameters in any SCPI spelling; the YAML's own commands are read through the same
  tree (a YAML command that is not in the tree is refused when the instrument is built). An
  unknown command queues -113 and an unknown query is not answered (the reader times out);
- responses are whole byte strings served ``count`` bytes per ``viRead`` (stock pyvisa-sim serves
  one byte per call and UTF-8-encodes bytes >= 0x80, which breaks binary blocks and is O(n^2));
- a read with nothing to answer times out at once instead of after the VISA timeout;
- a setter whose value fails the YAML specs queues ``data_out_of_range`` (SCPI -222), a keyword
  that is not one of its choices ``illegal_parameter`` (-224); booleans are stored and answered
  as 1/0, as SCPI instruments answer them;
- ``*CLS`` clears the error queue and ``*RST`` restores every property's default.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np
import pyvisa
import pyvisa.errors as visa_errors
from pyvisa import constants, rname
from pyvisa_sim import parser
from pyvisa_sim.component import NoResponse
from pyvisa_sim.highlevel import SimVisaLibrary
from pyvisa_sim.sessions.session import Session

from common.passive import Setup
from common.values import checked_number

from .chip import ChipParameters, MicroLED, NoiseSource
from .clock import SimulatedClock
from .degradation import Degradation, StressHistory
from .faults import FaultPlan
from .scpi import BOOLEANS, NUMBER, Command, number, unquote
from .spectrum import EmissionSpectrum, SpectrumParameters
from .stage import StageParameters

if TYPE_CHECKING:
    from .array import EmitterArray
    from .coupling import Coupling

# The drive circuit (DESIGN.md, written here on its own): generators and VNA ports are 50 ohm
# sources whose levels are programmed as volts into 50 ohm, so their open-circuit EMF is twice
# the programmed value; through the bias tee's path Z into the chip's small-signal resistance
# r_d the AC current is 2 V / (50 + Z + r_d).
SOURCE_IMPEDANCE = 50.0  # ohm


def incident_amplitude(power_dbm: float) -> float:
    """Peak volts of a sine of ``power_dbm`` into 50 ohm: sqrt(2 P 50)."""
    return math.sqrt(2 * 1e-3 * 10 ** (power_dbm / 10) * SOURCE_IMPEDANCE)


def ieee_block(payload: bytes) -> bytes:
    """Wrap bytes in an IEEE 488.2 definite-length block (``#`` N digits count, payload)."""
    length = str(len(payload)).encode()
    return b"#" + str(len(length)).encode() + length + payload


@dataclass
class SimulatedWorld:
    """The physical set-up the simulated instruments share: one chip and what drives it.

    ``drive_current`` is the DC current through the chip now (set by the SMU model); every value
    it took is kept in ``current_history``, and the extremes (lowest, highest) of the chip's
    current with the modulation of a generator or VNA on top in ``drive_history``, so tests can
    check limits on the instrument side.
    """

    chip_params: ChipParameters = field(default_factory=ChipParameters)
    collection_efficiency: float = 1.0
    drive_current: float = 0.0
    current_history: list[float] = field(default_factory=list)
    voltage_history: list[float] = field(default_factory=list)
    drive_history: list[tuple[float, float]] = field(default_factory=list)
    faults: FaultPlan = field(default_factory=lambda: FaultPlan([]))
    commands: list[tuple[str, str]] = field(default_factory=list)  # (instrument, command) received
    instruments: dict[str, SimInstrument] = field(default_factory=dict)  # by station name
    setup: Setup = field(default_factory=Setup)  # bias tee, photoreceiver, cables, scope wiring
    modulation_source: Any = None  # the generator model whose output the scope and chip see
    initial_state: dict[str, dict] = field(default_factory=dict)  # by station name, as given
    array: EmitterArray | None = None  # emitters behind the switch (sim_instruments/array.py)
    coupling: Coupling | None = None   # fibre coupling (sim_instruments/coupling.py)
    switch: Any = None  # the simulated switch model: closed_crosspoints() -> [(slot, row, col)]
    positioner: Any = None  # the simulated positioner model: axis_position(address) -> m
    clock: SimulatedClock = field(default_factory=SimulatedClock)  # the world's time
    degradation: Degradation | None = None  # the chip's ageing law, or None (it does not age)
    stage_params: StageParameters = field(default_factory=StageParameters)
    stage: Any = None  # the ThermalStage a simulated TEC holds (sim_instruments/stage.py)
    spectrum_params: SpectrumParameters = field(default_factory=SpectrumParameters)

    def __post_init__(self):
        self._chip = MicroLED(self.chip_params)
        self.noise = NoiseSource(self.chip_params.seed)
        self._point: tuple[MicroLED, float, Any] | None = None  # the last steady_state() asked
        self._spectrum: EmissionSpectrum | None = None
        self._fresh: dict[float, MicroLED] = {}  # the unaged chip per stage temperature (K)
        self._aged: tuple[tuple[float, float], MicroLED] | None = None
        self._stressed_on: MicroLED | None = None  # the fresh chip the stress rate was taken on
        self.stress = StressHistory(self.clock.now(), self.degradation.initial_damage
                                    if self.degradation is not None else 0.0)

    def time(self) -> float:
        """Simulated seconds (the world's clock)."""
        return self.clock.now()

    def stage_temperature(self) -> float:
        """The chip's base temperature now (K): the TEC stage's, or the room's
        (``chip.ambient_temperature``) without a TEC."""
        if self.stage is None:
            return self.chip_params.ambient_temperature
        return self.stage.temperature(self.time())

    def chip_at(self, temperature: float) -> MicroLED:
        """The unaged chip on a stage at ``temperature`` (K, kept to 1 mK; cached)."""
        key = round(temperature, 3)
        chip = self._fresh.get(key)
        if chip is None:
            if key == self.chip_params.ambient_temperature == self.chip_params.\
                    reference_temperature:
                chip = self._chip
            else:
                if len(self._fresh) > 256:
                    self._fresh.clear()
                chip = MicroLED(self.chip_params.at_temperature(key))
            self._fresh[key] = chip
        return chip

    @property
    def chip(self) -> MicroLED:
        """The chip the instruments see now. With an array, the selected emitter at the stage
        temperature (arrays do not age: a degradation block is refused with one); else the
        configured chip at the stage temperature, aged by the stress it took so far
        (:mod:`sim_instruments.degradation`)."""
        if self.array is not None:
            emitter = self.selected_emitter()
            if emitter is None:
                return self._chip  # nothing connected: circuit_open says so to the instruments
            return self.array.chip(*emitter, temperature=self.stage_temperature())
        fresh = self.chip_at(self.stage_temperature())
        if self.degradation is None:
            return fresh
        if fresh is not self._stressed_on:  # the stage moved: the stress rate with it
            self._stressed_on = fresh
            self.note_stress()
        damage = round(self.stress.damage(self.time()), 7)
        if damage == 0:
            return fresh
        key = (fresh.params.ambient_temperature, damage)
        if self._aged is None or self._aged[0] != key:
            law, p = self.degradation, fresh.params
            self._aged = (key, MicroLED(ChipParameters(**{
                **p.to_dict(),
                "extraction_efficiency": p.extraction_efficiency * math.exp(-damage),
                "series_resistance": p.series_resistance
                * max(1 + law.series_resistance_growth * damage, 0.0),
                "shunt_resistance": max(p.shunt_resistance * math.exp(-law.leakage_growth
                                                                      * damage), 1.0)})))
        return self._aged[1]

    def damage(self) -> float:
        """The chip's accumulated damage now (its optical output is the fresh chip's x
        exp(-damage))."""
        return self.stress.damage(self.time())

    def note_stress(self) -> None:
        """The damage so far integrated; from now on it grows at the rate of the present DC
        current and junction temperature (stage plus self-heating, the chip as it is now)."""
        law = self.degradation
        if law is None:
            return
        self.stress.hold(self.time(), self.stress.rate)
        current, rate = self.drive_current, 0.0
        if current > 0:
            point = self.steady_state(current)  # the operating point the instruments will see
            junction = float(point.junction_temperature[0])
            if math.isfinite(junction):
                rate = law.rate(current / self.chip_params.area, junction)
        self.stress.hold(self.time(), rate)

    def selected_emitter(self) -> tuple[int, int] | None:
        """The array's emitter (row, column) a closed switch route connects the SMU to, or None.
        Two routes closed at once (emitters in parallel) are not simulated: the first counts."""
        if self.array is None or self.switch is None:
            return None
        for crosspoint in self.switch.closed_crosspoints():
            emitter = self.array.emitter_at(*crosspoint)
            if emitter is not None:
                return emitter
        return None

    @property
    def circuit_open(self) -> bool:
        """The SMU's terminals see an open circuit: an array with no emitter routed to them, or
        a dead emitter. Without an array the chip is wired directly (never open here)."""
        if self.array is None:
            return False
        emitter = self.selected_emitter()
        return emitter is None or self.array.fault(*emitter) == "dead"

    def stage_position(self) -> tuple[float, float, float]:
        """(x, y, z) m of the simulated positioner's axes per the coupling's address map; 0 for
        an axis without a positioner."""
        if self.positioner is None or self.coupling is None:
            return 0.0, 0.0, 0.0
        axes = dict(self.coupling.axes)
        x, y, z = (self.positioner.axis_position(axes[a]) for a in ("x", "y", "z"))
        return x, y, z

    def steady_state(self, current: float):
        """The chip's DC operating point (chip.OperatingPoint, 1-element arrays) at a current;
        the last one is kept, as the SMU and the power meter ask for the same point in turn.
        An open circuit (no emitter routed, a dead one) carries no current, whatever is set."""
        chip = self.chip
        if self.circuit_open:
            current = 0.0
        if self._point is None or self._point[0] is not chip or self._point[1] != current:
            self._point = (chip, current, chip.steady_state(np.array([current])))
        return self._point[2]

    def emission_spectrum(self) -> EmissionSpectrum:
        """The line shape of the chip the instruments see now (sim_instruments/spectrum.py)."""
        if self._spectrum is None or self._spectrum.chip is not self.chip:
            self._spectrum = EmissionSpectrum(self.spectrum_params, self.chip)
        return self._spectrum

    def detected_power(self, emitted: float) -> float:
        """Optical power (W) reaching the detector of a power meter or photodiode when the chip
        emits ``emitted`` W: the collection efficiency (and the fibre coupling, where the
        simulation has one). Every simulated detector goes through here."""
        power = emitted * self.collection_efficiency
        if self.coupling is not None:
            x, y, z = self.stage_position()
            emitter = self.selected_emitter()
            if emitter is not None:
                dx, dy, dz = self.array.offset(*emitter)
                x, y, z = x - dx, y - dy, z - dz
            power *= self.coupling.efficiency(x, y, z)
        return power

    @classmethod
    def from_config(cls, config: Any, setup: Any = None,
                    models: Mapping[str, str] | None = None) -> SimulatedWorld:
        """Build from a station's ``simulation:`` block and its ``setup:`` block; ValueError with
        one clear line for anything wrong::

            simulation:
              chip: {diameter: 20.0e-6}        # ChipParameters fields, SI, within chip.BOUNDS
              clock: {speed: 1.0e6}            # simulated s per real s (sim_instruments/clock.py)
              degradation: {decay_rate: 1.0e-8, ...}   # sim_instruments/degradation.py
              stage: {time_constant: 10.0, ...}        # the TEC's stage, sim_instruments/stage.py
              collection_efficiency: 1.0       # (0, 1]
              faults: [...]                    # sim_instruments/faults.py
              fault_seed: 0
              spectrum: {fwhm: 20.0e-9}        # sim_instruments/spectrum.py
              initial_state:                   # as instruments left on by a killed run
                smu: {output: true, function: CURR, level: 5.0e-3, limit: 6.0}
                generator: {output: true, high: 0.4, low: 0.0}
                vna: {output: true, power: -10.0, options: "285"}
                tec: {output: true, setpoint: 330.0, temperature: 330.0}   # K
              array: {rows: 32, columns: 32, ...}   # sim_instruments/array.py (no degradation)
              coupling: {optimum: [x, y, z], ...}   # sim_instruments/coupling.py

        ``models`` ({station name: driver}) lets the start states be checked against their
        instruments' models now; without it each is checked when its instrument is built."""
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise ValueError(f"the simulation block must be a mapping, got "
                             f"{type(config).__name__}")
        config = dict(config)
        clock = SimulatedClock.from_config(config.pop("clock", None))
        degradation = Degradation.from_config(config.pop("degradation", None))
        stage = StageParameters.from_config(config.pop("stage", None))
        chip = config.pop("chip", None)
        chip = ChipParameters.from_mapping({} if chip is None else chip)
        efficiency = checked_number("collection_efficiency",
                                    config.pop("collection_efficiency", 1.0), 0.0, 1.0)
        faults = FaultPlan.from_config(config.pop("faults", None), config.pop("fault_seed", 0))
        initial = config.pop("initial_state", None)
        array, coupling = config.pop("array", None), config.pop("coupling", None)
        spectrum = SpectrumParameters.from_mapping(config.pop("spectrum", None))
        if config:
            raise ValueError(f"unknown key(s) in simulation block: "
                             f"{', '.join(sorted(map(str, config)))}; valid keys: chip, "
                             f"array, clock, collection_efficiency, coupling, degradation, faults, "
                             f"fault_seed, initial_state, spectrum, stage")
        initial = _initial_states(initial, models)
        if array is not None and degradation is not None:
            raise ValueError("simulation: an array's emitters do not age in this simulator: give "
                             "either array or degradation")
        if array is not None:
            from .array import EmitterArray

            array = EmitterArray.from_config(array, chip)
        if coupling is not None:
            from .coupling import Coupling

            coupling = Coupling.from_config(coupling)
        return cls(chip_params=chip, collection_efficiency=efficiency, faults=faults,
                   setup=Setup.from_mapping(setup), initial_state=initial, array=array,
                   coupling=coupling, clock=clock, degradation=degradation, stage_params=stage,
                   spectrum_params=spectrum)

    def describe(self) -> dict[str, Any]:
        """What the run file's station snapshot records of the simulated set-up."""
        out = {"chip": self.chip_params.to_dict(),
               "collection_efficiency": self.collection_efficiency,
               "spectrum": self.spectrum_params.to_dict()}
        if self.array is not None:
            out["array"] = self.array.config
        if self.coupling is not None:
            out["coupling"] = self.coupling.to_dict()
        return out

    def apply(self, current: float, voltage: float) -> None:
        """Record that the chip now carries ``current`` at ``voltage`` (DC, from the SMU)."""
        self.drive_current = current
        self.note_stress()  # the damage so far at the previous current, the new rate from now
        self.current_history.append(current)
        self.voltage_history.append(voltage)
        self.note_drive()

    def apply_many(self, currents: np.ndarray, voltages: np.ndarray) -> None:
        """Record that the chip carried each of ``currents`` in turn (an instrument-side sweep)."""
        if len(currents) == 0:
            return
        self.current_history.extend(np.asarray(currents, dtype=float).tolist())
        self.voltage_history.extend(np.asarray(voltages, dtype=float).tolist())
        self.drive_current = self.current_history[-1]
        self.note_stress()
        low, high = self.modulation_extremes()
        self.drive_history.append((float(np.min(currents)) + low, float(np.max(currents)) + high))
        self.note_drive()

    @property
    def max_applied_current(self) -> float:
        return max((abs(i) for i in self.current_history), default=0.0)

    # -- the drive circuit ------------------------------------------------------------------
    def chip_resistance(self) -> float:
        """The chip's small-signal resistance r_d (ohm) at its present DC bias."""
        return float(self.chip.differential_resistance(max(self.drive_current, 0.0)))

    def drive_admittance(self) -> float:
        """AC chip current per programmed volt (into 50 ohm) of a 50 ohm generator or VNA port:
        2 / (50 + Z + r_d), A/V."""
        z = self.setup.bias_tee.modulation_impedance
        return 2.0 / (SOURCE_IMPEDANCE + z + self.chip_resistance())

    def modulation_extremes(self) -> tuple[float, float]:
        """(lowest, highest) AC current the generator and VNA add to the bias now."""
        low = high = 0.0
        for instrument in self.instruments.values():
            swing = instrument.model.ac_volts()
            if swing is not None:
                low, high = low + swing[0], high + swing[1]
        if low == high == 0.0:
            return 0.0, 0.0
        admittance = self.drive_admittance()
        return low * admittance, high * admittance

    def note_drive(self) -> None:
        """Record the chip's present current extremes when they changed."""
        low, high = self.modulation_extremes()
        extremes = (self.drive_current + low, self.drive_current + high)
        if not self.drive_history or self.drive_history[-1] != extremes:
            self.drive_history.append(extremes)

    @property
    def max_drive_current(self) -> float:
        """Largest |current| the chip ever carried, modulation peaks included (A)."""
        return max((max(abs(a), abs(b)) for a, b in self.drive_history), default=0.0)


def _initial_states(raw: Any, models: Mapping[str, str] | None) -> dict[str, dict]:
    """The ``initial_state`` block checked: a mapping of instrument name to a mapping of start
    settings, each checked against its model when ``models`` names it."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"simulation.initial_state must be a mapping of instrument names, got "
                         f"{type(raw).__name__}")
    states = {}
    for name, state in raw.items():
        if not isinstance(name, str):
            raise ValueError(f"simulation.initial_state: instrument name {name!r} is not a string")
        if not isinstance(state, Mapping):
            raise ValueError(f"simulation.initial_state.{name} must be a mapping, got "
                             f"{type(state).__name__}")
        states[name] = dict(state)
    from .models import MODELS, model_class

    if models is None and states:  # which instrument is which is not known yet: a state that
        # no model could take is refused now, the rest is checked when its instrument is built
        takers = [m for m in MODELS if model_class(m).INITIAL_STATE]
        for name, state in states.items():
            reasons = []
            for model in takers:
                try:
                    model_class(model).check_initial_state(name, state)
                    break
                except ValueError as exc:
                    reasons.append(f"{model}: {str(exc).split(': ', 1)[-1]}")
            else:
                raise ValueError(f"simulation.initial_state.{name} fits no simulated model "
                                 f"({'; '.join(reasons)})")
    if models is not None:
        unknown = sorted(set(states) - set(models))
        if unknown:
            raise ValueError(f"simulation.initial_state: no simulated instrument named "
                             f"{', '.join(unknown)}; the station has {', '.join(sorted(models))}")
        for name, state in states.items():
            model_class(models[name]).check_initial_state(name, state)
    return states


_TREES: dict[type, Any] = {}  # one per model class: its header cache outlives benches


class _Partial(bytes):
    """A response cut off before its end (fault ``truncated``): the reader waits, then times out."""


@dataclass(frozen=True)
class _Route:
    """What a YAML element does with a command whose header it shares: the parameters it fixes
    (index, canonical value), the one it takes as its value (``slot``) and its action."""

    fixed: tuple[tuple[int, Any], ...]
    count: int          # parameters the command carries
    slot: int | None    # index of the value parameter (setters)
    quoted: bool        # the value is written in quotes in the YAML
    kind: str           # dialogue | getter | setter | errors
    target: Any         # response bytes | (property, format) | property | ErrorQueue


class SimInstrument:
    """One simulated instrument: its YAML device, its physics model and its output queue."""

    def __init__(self, model_name: str, resource_name: str, world: SimulatedWorld,
                 name: str | None = None):
        from .models import MODELS, model_class  # models import this module's helpers

        yaml_file = MODELS[model_name][0]
        model_cls = model_class(model_name)
        path = resources.files(__package__).joinpath(yaml_file)
        loader = parser.Loader(str(path), False)
        device_dict = loader.get_device_dict(model_name, None, False, 1)
        self.device = parser.get_device(model_name, device_dict, loader, {})
        self.device.resource_name = resource_name
        self.tree = _TREES.get(model_cls) or _TREES.setdefault(model_cls,
                                                               model_cls.command_tree())
        self._routes = self._build_routes(device_dict, yaml_file)
        self._error_queue = next(iter(self.device._error_queues.values()))
        self._defaults = {n: p.get_value() for n, p in self.device._properties.items()}
        self.world = world
        self.name = name or resource_name
        self.model = model_cls(self, world)
        world.instruments[self.name] = self
        self.output: deque[bytes] = deque()
        self._pending = bytearray()
        self.connected = True
        state = world.initial_state.get(self.name)
        if state is not None:
            model_cls.check_initial_state(self.name, state)
            self.model.start(state)

    # -- state shared with the model ---------------------------------------------------------
    def get(self, prop: str) -> Any:
        return self.device._properties[prop].get_value()

    def set(self, prop: str, value: Any) -> None:
        self.device._properties[prop].set_value(value)

    def queue_error(self, key: str) -> None:
        self.device.error_response(key)

    # -- the YAML read through the command tree -----------------------------------------------
    def _canonical(self, param: str) -> Any:
        """A parameter compared by meaning: a number by value, a string without its quotes, a
        keyword in its canonical form."""
        if param[:1] in ("'", '"'):
            return unquote(param)
        if NUMBER.match(param):
            return float(param.replace(" ", ""))
        return self.tree.keyword(param)

    def _build_routes(self, device_dict: dict, yaml_file: str) -> dict[tuple, list[_Route]]:
        routes: dict[tuple, list[_Route]] = {}

        def add(text: str, kind: str, target: Any) -> None:
            marked = text.replace("{}", "\x00")
            command = self.tree.parse(marked)
            if command is None:
                raise ValueError(f"{yaml_file}: {text!r} is not in the model's command tree")
            slot = next((k for k, p in enumerate(command.params) if "\x00" in p), None)
            fixed = tuple((k, self._canonical(p)) for k, p in enumerate(command.params)
                          if k != slot)
            quoted = slot is not None and command.params[slot][:1] in ("'", '"')
            routes.setdefault(command.key, []).append(
                _Route(fixed, len(command.params), slot, quoted, kind, target))

        for query, response in self.device._dialogues.items():
            add(query.decode(), "dialogue", response)
        for query, queue in self.device._error_queues.items():
            add(query.decode(), "errors", queue)
        for name, spec in device_dict.get("properties", {}).items():
            if "getter" in spec:
                add(spec["getter"]["q"], "getter", (name, spec["getter"]["r"]))
            if "setter" in spec:
                add(spec["setter"]["q"], "setter", name)
        self._choices = {}  # property -> {canonical keyword: the YAML's spelling}
        for name, prop in self.device._properties.items():
            if prop.specs is not None and prop.specs.type is str and prop.specs.valid:
                self._choices[name] = {self._canonical(v): v for v in prop.specs.valid}
        return routes

    def dispatch(self, command: Command) -> bytes | None:
        """Run a parsed command against the YAML device: a dialogue, a getter, a setter or the
        error queue; -113 when its header has no YAML element, -224 when its parameters fit
        none (a query then gets no answer)."""
        routes = self._routes.get(command.key)
        if routes is None:
            self.queue_error("command_error")
            return None
        params = command.params
        canonical = None
        for route in routes:
            if route.count != len(params):
                continue
            if route.fixed:
                if canonical is None:
                    canonical = [self._canonical(p) if p else "" for p in params]
                if any(canonical[k] != value for k, value in route.fixed):
                    continue
            kind = route.kind
            if kind == "getter":
                name, fmt = route.target
                return fmt.format(self.device._properties[name].get_value()).encode()
            if kind == "setter":
                self._set(route, params[route.slot])
                return None
            if kind == "errors":
                return route.target.value
            return None if route.target is NoResponse else route.target
        self.queue_error("illegal_parameter" if routes[0].kind == "setter" else "command_error")
        return None

    def _set(self, route: _Route, text: str) -> bool:
        """Store a setter's value after converting it as SCPI reads it; queue -224 for a keyword
        that is not a choice, -222 for a value outside the specs. True if stored."""
        prop = self.device._properties[route.target]
        specs = prop.specs
        raw = unquote(text) if route.quoted else text
        try:
            if specs is None:
                value: Any = raw
            elif specs.type is float:
                value = number(raw)
            elif specs.type is int:
                value = int(round(number(raw)))
            elif route.target in self._choices:
                choices = self._choices[route.target]
                if set(choices.values()) <= set(BOOLEANS):
                    value = BOOLEANS[raw.upper()]
                    if value not in choices.values():
                        value = "ON" if value == "1" else "OFF"
                else:
                    key = raw.split(":")[0] if route.quoted else raw  # "VOLT[:DC]" function names
                    value = choices[self._canonical(key)]
            else:
                value = raw
        except (ValueError, KeyError, OverflowError):
            self.queue_error("illegal_parameter")
            return False
        try:
            prop.set_value(value)
        except ValueError:
            self.queue_error("data_out_of_range")
            return False
        return True

    def apply(self, command: Command) -> bool:
        """Run a setter command through the YAML (checks and storage); True if it was accepted."""
        before = len(self._error_queue._queue)
        self.dispatch(command)
        return len(self._error_queue._queue) == before

    # -- message handling ----------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if not self.connected:
            raise visa_errors.VisaIOError(constants.VI_ERROR_CONN_LOST)
        self._pending += data
        eom = self.device._query_eom
        if not self._pending.endswith(eom):
            return
        command = bytes(self._pending[: len(self._pending) - len(eom)])
        self._pending.clear()
        text = command.decode("latin-1").strip()
        self.world.commands.append((self.name, text))
        fault = self.world.faults.check(self.name, text) if self.world.faults.rules else None
        if fault is not None and fault.kind == "disconnect":
            self.connected = False
            self.output.clear()
            raise visa_errors.VisaIOError(constants.VI_ERROR_CONN_LOST)
        if fault is not None and fault.kind == "compliance":
            self.model.open_contact()
        response = self._respond(text)
        if fault is not None and fault.kind == "scpi_error":
            for queue in self.device._error_queues.values():
                queue._queue.append(fault.error.encode())
        if response is None or (fault is not None and fault.kind == "timeout"):
            return
        if fault is not None and fault.kind == "garbled":
            response = bytes(self.world.faults.rng.integers(33, 127, max(len(response), 4),
                                                             dtype=np.uint8))
        if fault is not None and fault.kind == "truncated":
            self.output.append(_Partial(response[: len(response) // 2]))  # END never comes
            return
        self.output.append(response + self.device._response_eom)

    def _respond(self, text: str) -> bytes | None:
        command = self.tree.parse(text)
        if command is None:  # not a command of this instrument
            self.queue_error("command_error")
            return None
        if command.header == "*CLS" and not command.query:
            for queue in self.device._error_queues.values():
                queue.clear()
            return None
        if command.header == "*RST" and not command.query:
            for name, value in self._defaults.items():
                self.device._properties[name]._value = value
            self.model.reset()
            self.world.note_drive()
            return None
        handled, answer = self.model.handle(command)
        if handled:
            return None if answer is None else (answer if isinstance(answer, bytes)
                                                else answer.encode())
        return self.dispatch(command)

    def read(self, count: int) -> tuple[bytes, bool]:
        """Up to ``count`` bytes of the oldest response, and whether that response is complete."""
        if not self.connected:
            raise visa_errors.VisaIOError(constants.VI_ERROR_CONN_LOST)
        if not self.output:
            raise visa_errors.VisaIOError(constants.VI_ERROR_TMO)
        head = self.output[0]
        if len(head) <= count:
            self.output.popleft()
            return head, not isinstance(head, _Partial)
        self.output[0] = type(head)(head[count:])
        return head[:count], False


class BenchSimLibrary(SimVisaLibrary):
    """pyvisa library serving :class:`SimInstrument` objects instead of YAML-only devices."""

    _counter = itertools.count()

    def _init(self) -> None:
        self.sessions = {}
        self.devices = {}

    def add(self, resource_name: str, instrument: SimInstrument) -> None:
        self.devices[rname.to_canonical_name(resource_name)] = instrument

    def open(self, session, resource_name, access_mode=constants.AccessModes.no_lock,
             open_timeout=constants.VI_TMO_IMMEDIATE):
        try:
            parsed = rname.parse_resource_name(resource_name)
        except rname.InvalidResourceName:
            return 0, constants.StatusCode.error_invalid_resource_name
        canonical = str(parsed)
        if canonical not in self.devices:
            return 0, constants.StatusCode.error_resource_not_found
        sess = Session.get_session_class(parsed.interface_type_const, parsed.resource_class)(
            session, resource_name, parsed)
        sess.device = self.devices[canonical]
        sess.device.connected = True  # opening again restores a dropped link
        return self._register(sess), constants.StatusCode.success

    def list_resources(self, session, query="?*::INSTR"):
        found = rname.filter(tuple(self.devices), query)
        if not found:
            raise visa_errors.VisaIOError(constants.StatusCode.error_resource_not_found.value)
        return found

    def write(self, session, data):
        try:
            instrument = self.sessions[session].device
        except KeyError:
            return 0, constants.StatusCode.error_invalid_object
        instrument.write(bytes(data))
        return len(data), constants.StatusCode.success

    def clear(self, session):
        """viClear: the device drops its pending input and unread output."""
        try:
            instrument = self.sessions[session].device
        except KeyError:
            return constants.StatusCode.error_invalid_object
        instrument.output.clear()
        instrument._pending.clear()
        return constants.StatusCode.success

    def read(self, session, count):
        try:
            instrument = self.sessions[session].device
        except KeyError:
            return b"", constants.StatusCode.error_invalid_object
        chunk, complete = instrument.read(count)
        status = (constants.StatusCode.success if complete
                  else constants.StatusCode.success_max_count_read)
        return chunk, status


def open_simulated_bench(instruments: dict[str, str], world: SimulatedWorld,
                         names: dict[str, str] | None = None) -> pyvisa.ResourceManager:
    """A ResourceManager whose resources are the given ``{resource_name: model}`` instruments.

    Each call builds a fresh library (no state shared with earlier benches), which is what the
    stock pyvisa-sim cache per file does not give.
    """
    library = BenchSimLibrary(f"microled-sim-{next(BenchSimLibrary._counter)}")
    for resource_name, model in instruments.items():
        name = (names or {}).get(resource_name)
        library.add(resource_name, SimInstrument(model, resource_name, world, name))
    return pyvisa.ResourceManager(library)
