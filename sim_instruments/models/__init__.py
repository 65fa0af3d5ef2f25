"""Simulated instrument models, one module per model: the physics behind each pyvisa-sim device.

``MODELS`` maps a station's driver name to its YAML file and its model class, imported only when a
simulated instrument of that model is built (the physics pulls in scipy).
"""

from __future__ import annotations

from importlib import import_module

# driver name -> (YAML file in sim_instruments/, "module:Class" in this package)
MODELS: dict[str, tuple[str, str]] = {
    "keithley2450": ("keithley2450.yaml", "keithley2450:Keithley2450Model"),
    "thorlabs_pm100d": ("thorlabs_pm100d.yaml", "thorlabs_pm100d:ThorlabsPM100DModel"),
    "keysight_81134a": ("keysight_81134a.yaml", "keysight_81134a:Keysight81134AModel"),
    "keysight_infiniium": ("keysight_infiniium.yaml", "keysight_infiniium:KeysightInfiniiumModel"),
    "keysight_e5071c": ("keysight_e5071c.yaml", "keysight_e5071c:KeysightE5071CModel"),
    "keysight_infiniivision": ("keysight_infiniivision.yaml",
                               "keysight_infiniivision:KeysightInfiniiVisionModel"),
    "tektronix_mso": ("tektronix_mso.yaml", "tektronix_mso:TektronixMSOModel"),
    "rigol_ds1000z": ("rigol_ds1000z.yaml", "rigol_ds1000z:RigolDS1000ZModel"),
    "keysight_33500b": ("keysight_33500b.yaml", "keysight_33500b:Keysight33500BModel"),
    "keithley2600b": ("keithley2600b.yaml", "keithley2600b:Keithley2600BModel"),
    "keysight_b2900": ("keysight_b2900.yaml", "keysight_b2900:KeysightB2900Model"),
    "keithley2400": ("keithley2400.yaml", "keithley2400:Keithley2400Model"),
    "yokogawa_aq6370": ("yokogawa_aq6370.yaml", "yokogawa_aq6370:YokogawaAQ6370Model"),
    "ocean_spectrometer": (None, "ocean_spectrometer:OceanSpectrometerModel"),
    "newport_1936r": (None, "newport_1936r:Newport1936RModel"),
    "thorlabs_pm100usb": ("thorlabs_pm100usb.yaml", "thorlabs_pm100usb:ThorlabsPM100USBModel"),
    "thorlabs_pm400": ("thorlabs_pm400.yaml", "thorlabs_pm400:ThorlabsPM400Model"),
    "smu_photodiode": ("smu_photodiode.yaml", "smu_photodiode:PhotodiodeOn2450Model"),
    "keysight_34980a": ("keysight_34980a.yaml", "keysight_34980a:Keysight34980AModel"),
    "newport_smc100": (None, "newport_smc100:NewportSMC100Model"),
    "arroyo_5300": (None, "arroyo_5300:Arroyo5300Model"),
}


def model_class(name: str) -> type:
    """The simulated model class of a driver name; KeyError if there is none."""
    module, cls = MODELS[name][1].split(":")
    return getattr(import_module(f"{__name__}.{module}"), cls)
