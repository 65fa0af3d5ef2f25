"""Instrument drivers, one module per model, registered by the name a station file uses."""

from __future__ import annotations

from importlib import import_module

# station name -> "module:Class"; the simulator models carry the same names.
DRIVERS: dict[str, str] = {
    "keithley2450": "drivers.keithley2450:Keithley2450",
    "thorlabs_pm100d": "drivers.thorlabs_pm100d:ThorlabsPM100D",
    "keysight_e5071c": "drivers.keysight_e5071c:KeysightE5071C",
    "keysight_infiniium": "drivers.keysight_infiniium:KeysightInfiniium",
    "keysight_81134a": "drivers.keysight_81134a:Keysight81134A",
    "keysight_infiniivision": "drivers.keysight_infiniivision:KeysightInfiniiVision",
    "tektronix_mso": "drivers.tektronix_mso:TektronixMSO",
    "rigol_ds1000z": "drivers.rigol_ds1000z:RigolDS1000Z",
    "keysight_33500b": "drivers.keysight_33500b:Keysight33500B",
    "keithley2600b": "drivers.keithley2600b:Keithley2600B",
    "keysight_b2900": "drivers.keysight_b2900:KeysightB2900",
    "keithley2400": "drivers.keithley2400:Keithley2400",
    "yokogawa_aq6370": "drivers.yokogawa_aq6370:YokogawaAQ6370",
    "ocean_spectrometer": "drivers.ocean_spectrometer:OceanSpectrometer",
    "newport_1936r": "drivers.newport_1936r:Newport1936R",
    "thorlabs_pm100usb": "drivers.thorlabs_pm100usb:ThorlabsPM100USB",
    "thorlabs_pm400": "drivers.thorlabs_pm400:ThorlabsPM400",
    "smu_photodiode": "drivers.smu_photodiode:SmuPhotodiode",
    "keysight_34980a": "drivers.keysight_34980a:Keysight34980A",
    "newport_smc100": "drivers.newport_smc100:NewportSMC100",
    "arroyo_5300": "drivers.arroyo_5300:Arroyo5300",
}


def driver_class(name: str) -> type:
    """The driver class for a station's ``driver:`` name; KeyError if unknown."""
    module, cls = DRIVERS[name].split(":")
    return getattr(import_module(module), cls)
