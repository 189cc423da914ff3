"""One list of dependencies: pyproject.toml says what requirements*.in say, the lock files pin
the same versions, and the runtime lock (the image's) holds no test or lint tool."""
from pathlib import Path

import tomli
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]


def direct(name: str) -> list:
    lines = (line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines())
    return [str(Requirement(line)) for line in lines if line and not line.startswith("-")]


def pins(name: str) -> dict:
    lines = (ROOT / name).read_text().splitlines()
    return {canonicalize_name(line.split("==")[0]): line.split("==")[1]
            for line in lines if "==" in line and not line.startswith("#")}


def pinned(requirements: list) -> dict:
    return {canonicalize_name(r.name): str(r.specifier)[2:]
            for r in map(Requirement, requirements)}


def test_pyproject_lists_the_requirements_files():
    project = tomli.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert [str(Requirement(r)) for r in project["dependencies"]] == direct("requirements.in")
    assert [str(Requirement(r)) for r in project["optional-dependencies"]["dev"]] == \
        direct("requirements-dev.in")


def test_the_locks_pin_the_versions_asked_for():
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert pinned(direct("requirements.in")).items() <= runtime.items()
    assert pinned(direct("requirements-dev.in")).items() <= dev.items()
    assert (ROOT / "requirements-dev.lock").read_text().splitlines()[1] == "-r requirements.lock"
    assert not runtime.keys() & dev.keys()  # each package pinned once


def test_the_image_installs_no_test_tool():
    runtime = pins("requirements.lock")
    assert not {"pytest", "ruff", "playwright", "aiosmtpd"} & runtime.keys()
    assert "RUN pip install -r requirements.lock" in (ROOT / "deploy" / "Dockerfile").read_text()
