"""Every snippet of README.md and docs/*.md runs as written: the python blocks (a test file
through pytest), and the cheap `bench` commands of the shell blocks, in a fresh directory holding
the run files the snippets name."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
RUN_FILE = "runs/20250101-120000-abc123.h5"  # the name the snippets use
CHEAP = {"station", "sequences", "show", "replay", "report", "export"}  # not `bench run`


def blocks(kinds: tuple[str, ...]) -> list[tuple[str, int, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in FENCE.finditer(text):
            if match.group(1) in kinds:
                line = text[:match.start()].count("\n") + 1
                found.append((f"{doc.name}:{line}", match.group(1), match.group(2)))
    return found


PYTHON = [(where, code) for where, _, code in blocks(("python",))]
COMMANDS = []
for _where, kind, code in blocks(("sh", "console")):
    for line in code.splitlines():
        command = line[2:] if kind == "console" and line.startswith("$ ") else \
            (line if kind == "sh" else "")
        command = re.sub(r"\s+#.*$", "", command).strip()
        command = re.sub(r"\s*\[[^\]]*\]", "", command)  # [optional] parts: the plain command
        words = command.split()
        if len(words) > 1 and words[0] == "bench" and words[1] in CHEAP:
            COMMANDS.append(command)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """A directory with the run files the snippets read (a liv run on the built-in bench)."""
    where = tmp_path_factory.mktemp("docs")
    (where / "runs").mkdir()
    assert main(["run", "liv", "-q", "-o", str(where / RUN_FILE)]) == 0
    shutil.copy(where / RUN_FILE, where / "run.h5")
    return where


def test_the_docs_have_snippets():
    assert len(PYTHON) >= 4 and len(COMMANDS) >= 6


@pytest.mark.parametrize("where, code", PYTHON, ids=[w for w, _ in PYTHON])
def test_python_snippet_runs(where, code, workdir, tmp_path, monkeypatch):
    if "def test_" in code:  # a test module: run it through pytest, as the docs say
        (tmp_path / "test_snippet.py").write_text(code)
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               "-k", "not recorded_run", "test_snippet.py"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:]
        return
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    exec(compile(code, where, "exec"), {"__name__": "__snippet__"})


@pytest.mark.parametrize("command", COMMANDS)
def test_shell_snippet_runs(command, workdir, tmp_path, monkeypatch):
    for name in ("runs", "run.h5"):  # a fresh copy each time: reports are never overwritten
        source = workdir / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    assert main(command.split()[1:]) == 0, command


YAML = [(where, code) for where, _, code in blocks(("yaml",))]


@pytest.mark.parametrize("where, code", YAML, ids=[w for w, _ in YAML])
def test_yaml_snippet_is_a_valid_station_or_recipe(where, code, tmp_path):
    """Each YAML example is accepted as what it shows (station or recipe), through the same
    loader as `bench run`."""
    from bench.recipe import load_recipe
    from bench.station import StationConfig

    path = tmp_path / "snippet.yaml"
    path.write_text(code)
    if "steps:" in code:
        assert load_recipe(str(path), sample={}).steps
    else:
        assert StationConfig.load(path).instruments
