"""The package installs with ``pip install .`` and its console script works from anywhere."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from armsim import ArmSimulator
from tests.support.constants import SUB_A

ROOT = Path(__file__).resolve().parents[2]
PIP_DEADLINE = 600  # seconds: a cold pip cache downloads the Azure SDKs


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def test_the_function_apps_pins_satisfy_the_package_ranges_and_name_every_dependency() -> None:
    project = _pyproject()["project"]
    declared = [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["function"]]
    pins = _pins()
    for requirement in declared:
        assert requirement.name.lower() in pins, f"{requirement.name} is not pinned in requirements.txt"
        assert requirement.specifier.contains(pins[requirement.name.lower()]), (requirement, pins[requirement.name])
    assert {r.name.lower() for r in declared} == set(pins), "requirements.txt and pyproject.toml name other packages"


def test_the_console_script_and_version_come_from_the_package() -> None:
    data = _pyproject()
    assert data["project"]["scripts"] == {"aks-audit-remediation": "remediation.cli.main:run"}
    assert data["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "remediation.__version__"}


@pytest.mark.slow
def test_pip_install_gives_a_console_script_that_reports_csv_from_any_directory(sim_factory, tmp_path) -> None:
    # Only what a source distribution carries: no tests, no simulator, no repository root on sys.path.
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(ROOT / "remediation", source / "remediation", ignore=shutil.ignore_patterns("__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        capture_output=True,
        text=True,
        timeout=PIP_DEADLINE,
    )
    assert pip.returncode == 0, pip.stderr[-3000:]

    sim: ArmSimulator = sim_factory()
    sim.add_subscription(SUB_A, "prod")
    cluster = sim.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(sim.env(), REMEDIATION_SUBSCRIPTION_IDS=SUB_A)
    result = subprocess.run(
        [str(venv / "bin" / "aks-audit-remediation"), "report", "--format", "csv"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1, result.stderr  # one non-compliant cluster
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    # ARM spells cluster IDs with "resourcegroups" (recorded): compare as ARM IDs compare, without case
    assert [(r["id"].lower(), r["status"]) for r in rows] == [(cluster.lower(), "non_compliant")]
    assert sim.write_requests() == []
    page = subprocess.run(
        [str(venv / "bin" / "aks-audit-remediation"), "report", "--format", "html"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert page.returncode == 1, page.stderr
    # the page's stylesheet and script are package data: the wheel carries them
    assert "border-collapse" in page.stdout and "location.hash" in page.stdout, page.stdout[:2000]
    version = subprocess.run(
        [str(venv / "bin" / "aks-audit-remediation"), "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.stdout.split() == ["aks-audit-remediation", _version()]
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import armsim"], capture_output=True, text=True, timeout=60, cwd=workdir
    )
    assert installed.returncode != 0, "the simulator is a dev tool and must not be installed"


def _version() -> str:
    namespace: dict[str, str] = {}
    exec((ROOT / "remediation" / "__init__.py").read_text(), namespace)
    return namespace["__version__"]
