"""bench report: PNG plots and one self-contained HTML page; clear errors for bad files."""

from __future__ import annotations

import base64
import math
from html.parser import HTMLParser

import h5py
import numpy as np
import pytest

from bench.cli import main
from bench.plots.axes import DPI, FIGSIZE
from bench.recipe import parse_recipe
from bench.report import render_html, step_plots, write_report
from bench.runner import Runner
from bench.station import StationConfig
from bench.storage import RunWriter, read_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DIAMETER, WAVELENGTH = 20e-6, 450e-9


class PageParser(HTMLParser):
    """Collects images, links, headings and text of a page."""

    def __init__(self):
        super().__init__()
        self.images, self.urls, self.text, self.tags = [], [], [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if tag == "img":
            self.images.append(attrs["src"])
        for key in ("href", "src"):
            if key in attrs and tag != "img":
                self.urls.append(attrs[key])

    def handle_data(self, data):
        self.text.append(data)


def parse(html_text: str) -> PageParser:
    parser = PageParser()
    parser.feed(html_text)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def run_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "liv-iv.h5"
    recipe = parse_recipe({
        "sample": {"id": "W1-D2", "diameter": DIAMETER, "wavelength": WAVELENGTH,
                   "limits": {"max_current": 10e-3, "max_voltage": 6.0,
                              "max_reverse_voltage": 10.0}},
        "steps": [{"sequence": "liv", "name": "liv_room", "params": {"points": 10, "settle": 0},
                   "limits": {"peak_eqe": [0.01, None], "droop": [None, 1e-3]}},
                  {"sequence": "iv", "name": "iv_reverse",
                   "params": {"source": "voltage", "start": -3.0, "stop": 3.2, "points": 10,
                              "reference_current": 1e-4,
                              "spacing": "lin"}}]})
    outcome = Runner(StationConfig.load(None), recipe, path).run()
    assert outcome.status == "completed", outcome.reason
    return path


def test_report_page_names_every_step_and_embeds_every_plot(run_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["report", str(run_file), "-o", str(out)]) == 0
    assert str(out / "report.html") in capsys.readouterr().out
    pngs = sorted(out.glob("*.png"))
    page = parse((out / "report.html").read_text(encoding="utf-8"))
    assert len(pngs) >= 3  # liv: L-I-V and efficiency; iv: I-V
    assert len(page.images) == len(pngs)
    embedded = []
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        embedded.append(base64.b64decode(src.split(",", 1)[1], validate=True))
    assert all(png.startswith(PNG_SIGNATURE) for png in embedded)
    assert sorted(embedded) == sorted(p.read_bytes() for p in pngs)
    text = " ".join(page.text)
    record = read_run(run_file)
    for step in record.steps:
        assert f"Step {step.name}" in text
        for result in step.results:
            assert result in text
    assert "SIMULATED" in text and record.run_id in text
    assert "PASS" in text and "FAIL" in text  # peak_eqe passes, droop fails its limit
    assert "A/cm^2" in text  # display unit of current density said
    # self-contained: no script, stylesheet link or remote URL; anchors stay in the page
    assert "script" not in page.tags and "link" not in page.tags
    assert all(url.startswith("#") for url in page.urls)


def test_report_default_directory_and_plot_size(run_file):
    report = write_report(run_file)
    assert report.html == run_file.parent / f"{run_file.stem}_report" / "report.html"
    assert all(p.parent == report.html.parent for p in report.plots)
    width = int.from_bytes(report.plots[0].read_bytes()[16:20], "big")
    height = int.from_bytes(report.plots[0].read_bytes()[20:24], "big")
    assert (width, height) == (round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI))


PREAMBLE = ["x_increment", "x_origin", "x_reference", "y_increment", "y_origin", "y_reference"]


def write_generic_run(path):
    """A run of sequences the report does not know, described by array attributes: a frequency
    sweep per bias with a complex S21, scope records with their preamble, an eye histogram on
    its axes, a bare 2-D array, and a step that stored nothing. Returns what was written."""
    written = {"frequency": np.geomspace(1e6, 3e9, 50), "bias": np.array([1e-3, 2e-3, 5e-3]),
               "codes": np.arange(200, dtype=np.int16).reshape(2, 100) - 100,
               "preamble": np.array([[1e-10, -2e-9, 0, 2e-3, 0.1, 0],
                                     [1e-10, -1e-9, 0, 1e-3, 0.2, 0]])}
    f3db = 100e6 * np.sqrt(written["bias"] / 1e-3)
    written["f3db"] = f3db
    written["s21"] = 0.5 / (1 + 1j * written["frequency"][None, :] / f3db[:, None])
    written["s11"] = 0.1 * np.exp(-1j * written["frequency"] / 1e9)
    writer = RunWriter(path)
    writer.start_run(run_id="generic-1", software_version="test", simulated=False,
                     station={"name": "lab", "instruments": {}},
                     sample={"id": "S", "diameter": DIAMETER, "wavelength": WAVELENGTH},
                     recipe={})
    writer.start_step(0, "bw", "bandwidth_x", {"power": -10.0}, {})
    writer.write_array("frequency", written["frequency"], "Hz")
    writer.write_array("bias", written["bias"], "A")
    writer.write_array("s21", written["s21"], "", {"rows": "bias", "axis": "frequency"})
    writer.write_array("s11", written["s11"], "")
    writer.write_array("f3db", f3db, "Hz", {"axis": "bias"})
    writer.end_step("completed", "", {"f3db": {"value": 300e6, "units": "Hz", "low": 1e8,
                                               "high": None, "passed": True}})
    writer.start_step(1, "pulse", "pulse_x", {}, {})
    writer.write_array("optical_codes", written["codes"], "",
                       {"rows": "acquisition", "scaled_units": "V"})
    writer.write_array("optical_preamble", written["preamble"], "", {"columns": PREAMBLE})
    writer.write_array("waveform", np.arange(40, dtype=np.int16).reshape(4, 10), "1")
    writer.write_array("eye_time", np.linspace(0, 400e-12, 8), "s")
    writer.write_array("eye_voltage", np.linspace(0.1, 0.3, 5), "V")
    writer.write_array("eye_histogram", np.arange(40).reshape(5, 8), "",
                       {"axes": ["eye_voltage", "eye_time"]})
    writer.end_step("completed", "", {})
    writer.start_step(2, "empty", "eye_x", {}, {})
    writer.end_step("failed", "scope timeout", {})
    writer.end_run("failed", "step empty: scope timeout")
    writer.close()
    return written


def test_generic_plots_follow_the_array_attributes(tmp_path):
    path = tmp_path / "generic.h5"
    w = write_generic_run(path)
    record = read_run(path)
    bw, pulse, empty = record.steps
    plots = {name: fig.axes[0] for name, _, fig in step_plots(bw, record.sample)}
    assert set(plots) == {"f3db", "s21_db", "s11_db"}  # frequency and bias serve as axes
    assert plots["f3db"].get_xlabel() == "bias (mA)"
    assert plots["f3db"].get_ylabel() == "f3db (MHz)"
    assert np.allclose(plots["f3db"].get_lines()[0].get_ydata(), w["f3db"] / 1e6)
    s21 = plots["s21_db"]
    assert (s21.get_xlabel(), s21.get_ylabel(), s21.get_xscale()) == \
        ("frequency (GHz)", "|s21| (dB)", "log")
    assert [line.get_label() for line in s21.get_lines()] == \
        ["bias 1 mA", "bias 2 mA", "bias 5 mA"]
    for line, row in zip(s21.get_lines(), w["s21"], strict=True):
        assert np.allclose(line.get_xdata(), w["frequency"] / 1e9)
        assert np.allclose(line.get_ydata(), 20 * np.log10(np.abs(row)))
    assert np.allclose(plots["s11_db"].get_lines()[0].get_ydata(),
                       20 * np.log10(np.abs(w["s11"])))

    plots = {name: fig.axes[0] for name, _, fig in step_plots(pulse, record.sample)}
    assert set(plots) == {"optical", "waveform", "eye_histogram"}  # preamble is a table
    scope = plots["optical"]
    assert (scope.get_xlabel(), scope.get_ylabel()) == ("time (ns)", "optical (mV)")
    for k, line in enumerate(scope.get_lines()):
        x_inc, x_origin, x_ref, y_inc, y_origin, y_ref = w["preamble"][k]
        volts = (w["codes"][k] - y_ref) * y_inc + y_origin
        assert np.allclose(line.get_ydata(), volts * 1e3)
        assert np.allclose(line.get_xdata(), ((np.arange(100) - x_ref) * x_inc + x_origin) * 1e9)
    image = plots["waveform"].get_images()[0]
    assert np.array_equal(image.get_array(), np.arange(40).reshape(4, 10))
    eye = plots["eye_histogram"]
    assert (eye.get_xlabel(), eye.get_ylabel()) == ("eye time (ps)", "eye voltage (mV)")
    left, right, bottom, top = eye.get_images()[0].get_extent()
    assert left < 0 < 400 < right and bottom < 100 < 300 < top
    assert step_plots(empty, record.sample) == []

    report = write_report(path, tmp_path / "out")
    page = parse(report.html.read_text(encoding="utf-8"))
    assert len(page.images) == len(report.plots) == 6
    text = " ".join(page.text)
    assert all(f"Step {name}" in text for name in ("bw", "pulse", "empty"))
    assert "no data to plot" in text and "scope timeout" in text
    assert "SIMULATED" not in text
    assert "300 MHz" in text  # f3db in display units


def test_derived_arrays_are_drawn_on_their_sequences_axes(tmp_path):
    """Derived arrays carry units only: the report takes their axes from the sequence's
    derived_axes, and draws them apart from raw arrays of the same name."""
    path = tmp_path / "derived.h5"
    writer = RunWriter(path)
    writer.start_run(run_id="derived-1", software_version="test", simulated=True,
                     station={"name": "lab", "instruments": {}},
                     sample={"id": "S", "diameter": DIAMETER, "wavelength": WAVELENGTH},
                     recipe={})
    writer.start_step(0, "bw", "bandwidth", {}, {})
    set_points, measured = np.array([1e-3, 2e-3]), np.array([1.1e-3, 2.2e-3])
    writer.append_points({"bias_current": (set_points, "A"), "voltage": ([2.8, 2.9], "V")})
    frequency, f3db = np.geomspace(1e6, 1e9, 30), np.array([1e8, 2e8])
    derived = {"bias_current": (measured, "A"),
               "current_density": (measured / (math.pi * DIAMETER**2 / 4), "A/m^2"),
               "f3db_per_bias": (f3db, "Hz"), "response_frequency": (frequency, "Hz"),
               "normalised_power_gain": (1 / (1 + (frequency / f3db[:, None]) ** 2), "")}
    for name, (values, units) in derived.items():
        writer.write_array(name, values, units, group="analysis")
    writer.end_step("completed", "", {})
    writer.start_step(1, "eye", "eye", {}, {})
    for name, values, units in (("eye_time", np.linspace(0, 400e-12, 8), "s"),
                                ("eye_voltage", np.linspace(0.1, 0.3, 5), "V"),
                                ("eye_histogram", np.arange(40).reshape(5, 8), "")):
        writer.write_array(name, values, units, group="analysis")
    writer.end_step("completed", "", {})
    writer.end_run("completed")
    writer.close()
    record = read_run(path)
    bw, eye = record.steps
    plots = {name: fig.axes[0] for name, _, fig in step_plots(bw, record.sample)}
    assert set(plots) == {"voltage", "f3db_per_bias", "normalised_power_gain"}
    raw = plots["voltage"]  # raw data: against the set points data/bias_current
    assert raw.get_xlabel() == "bias current (mA)"
    assert np.allclose(raw.get_lines()[0].get_xdata(), set_points * 1e3)
    per_bias = plots["f3db_per_bias"]
    assert (per_bias.get_xlabel(), per_bias.get_ylabel()) == \
        ("current density (A/cm²)", "f3db per bias (MHz)")
    assert np.allclose(per_bias.get_lines()[0].get_xdata(),
                       derived["current_density"][0] * 1e-4)
    gain = plots["normalised_power_gain"]  # one line per measured bias: analysis/bias_current
    assert [line.get_label() for line in gain.get_lines()] == \
        ["bias current 1.1 mA", "bias current 2.2 mA"]
    assert gain.get_xlabel() == "response frequency (GHz)"
    (name, _, fig), = step_plots(eye, record.sample)
    assert name == "eye_histogram"
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == \
        ("eye time (ps)", "eye voltage (mV)")


def corrupt_steps_header(source, target):
    """Copy a run file with the object header of its /steps group overwritten."""
    with h5py.File(source, "r") as f:
        address = h5py.h5o.get_info(f["steps"].id).addr
    data = bytearray(source.read_bytes())
    data[address:address + 64] = b"\xff" * 64
    target.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["truncated", "corrupted", "not a run", "not hdf5"])
def test_bad_files_end_with_one_clear_line(run_file, tmp_path, capsys, damage):
    bad = tmp_path / "bad.h5"
    if damage == "truncated":
        bad.write_bytes(run_file.read_bytes()[: run_file.stat().st_size // 2])
    elif damage == "corrupted":
        corrupt_steps_header(run_file, bad)
    elif damage == "not a run":
        with h5py.File(bad, "w") as f:
            f["data"] = np.arange(10.0)
    else:
        bad.write_text("time,current\n0,1e-3\n")
    capsys.readouterr()
    assert main(["report", str(bad), "-o", str(tmp_path / "out")]) != 0
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: ")
    assert str(bad) in lines[0] and "Traceback" not in captured.err
    assert not (tmp_path / "out" / "report.html").exists()


def test_run_with_report_writes_the_page_next_to_the_run_file(tmp_path, capsys):
    out = tmp_path / "iv.h5"
    assert main(["run", "iv", "-q", "--report", "-o", str(out)]) == 0
    page = tmp_path / "iv_report" / "report.html"
    assert page.exists() and f"report: {page}" in capsys.readouterr().out
    assert "data:image/png;base64," in page.read_text()


def test_results_table_shows_conditions_when_results_carry_them(run_file):
    """Issue 10's result conditions in a compact column; files without them have no column."""
    record = read_run(run_file)
    for step in record.steps:  # as in a file written before results carried conditions
        for stored in step.results.values():
            stored.pop("conditions", None)
    assert "conditions" not in " ".join(parse(render_html(record, {})).text)
    result = record.steps[0].results["forward_voltage"]
    result["conditions"] = {"reference_current": {"value": 1e-3, "units": "A"}}
    page = parse(render_html(record, {}))
    text = " ".join(page.text)
    assert "conditions" in text and "reference current 1 mA" in text


def test_tables_fill_the_page_width_and_wrap_long_cells(run_file):
    page = render_html(read_run(run_file), {})
    css = page[page.index("<style>"):page.index("</style>")]
    assert "width: 100%" in css and "overflow-wrap: anywhere" in css
