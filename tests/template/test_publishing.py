"""What `sam publish` sends to the Serverless Application Repository: one version number, from
src/credit_monitor/__init__.py, in the metadata, the package and `credit-monitor --version`; and
metadata the repository accepts (its documented patterns and limits), so a publish fails here first."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from typing import Any

import pytest

from credit_monitor import __version__
from tests.support.cfn import REPO, load_template

MAX_FILE_BYTES = 5 * 1024 * 1024
"""The repository's limit for the licence and the readme."""


@pytest.fixture(scope="module")
def application() -> dict[str, Any]:
    metadata: dict[str, Any] = load_template()["Metadata"]["AWS::ServerlessRepo::Application"]
    return metadata


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    with (REPO / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def test_the_published_version_is_the_package_version(application: dict[str, Any]) -> None:
    assert application["SemanticVersion"] == __version__, (
        "template.yaml's SemanticVersion must equal __version__ in src/credit_monitor/__init__.py"
    )


def test_the_package_takes_its_version_from_the_same_place(pyproject: dict[str, Any]) -> None:
    assert "version" not in pyproject["project"], "pyproject must not carry its own version"
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["hatch"]["version"]["path"] == "src/credit_monitor/__init__.py"


def test_the_command_reports_the_same_version() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "credit_monitor", "--version"], capture_output=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.decode("utf-8") == f"credit-monitor {__version__}\n"


def test_the_version_is_semantic() -> None:
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", __version__)


def test_the_licence_is_the_one_the_package_declares(
    application: dict[str, Any], pyproject: dict[str, Any]
) -> None:
    assert application["SpdxLicenseId"] == pyproject["project"]["license"] == "MIT"
    licence = (REPO / application["LicenseUrl"]).read_text()
    assert licence.startswith("MIT License\n")
    assert "credit-monitor contributors" in licence


def test_the_metadata_fits_the_repository_limits(application: dict[str, Any]) -> None:
    assert re.fullmatch(r"[a-zA-Z0-9-]{1,140}", application["Name"])
    assert re.fullmatch(r"[a-z0-9](([a-z0-9]|-(?!-))*[a-z0-9])?", application["Author"])
    assert len(application["Author"]) <= 127
    assert 1 <= len(application["Description"]) <= 256
    assert 1 <= len(application["Labels"]) <= 10
    for label in application["Labels"]:
        assert re.fullmatch(r"[a-zA-Z0-9+\-_:/@]{1,127}", label), label
    for field in ("LicenseUrl", "ReadmeUrl"):  # local files: `sam package` uploads them
        path = REPO / application[field]
        assert path.is_file(), f"{field}: {path} is missing"
        assert path.stat().st_size <= MAX_FILE_BYTES, f"{field}: {path} is over 5 MB"
    for value in application.values():
        assert not isinstance(value, dict), "the repository does not resolve intrinsic functions"
