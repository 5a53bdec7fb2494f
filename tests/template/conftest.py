"""`sam build` once per session, shared by the package checks and the built-artifact run."""

from __future__ import annotations

from pathlib import Path

import pytest

# moto server and the stack, as the integration tests have them, for test_built_artifact.py.
from tests.integration.conftest import aws, moto_server, secret_string, stack  # noqa: F401
from tests.support.artifact import BuiltFunction, lambda_runtime, sam_build, working_python313

NO_PYTHON313 = "sam build needs python3.13 on PATH (Lambda's runtime); none works on this machine"


@pytest.fixture(scope="session")
def python313() -> str:
    path = working_python313()
    if path is None:
        pytest.skip(NO_PYTHON313)
    return path


@pytest.fixture(scope="session")
def built_function(python313: str, tmp_path_factory: pytest.TempPathFactory) -> BuiltFunction:
    """The function as `sam build` packages it (SAM's dependency cache makes a warm build a few seconds)."""
    return sam_build(tmp_path_factory.mktemp("sam") / "build")


@pytest.fixture(scope="session")
def lambda_python(python313: str) -> Path:
    """python3.13 with only the SDK the Lambda runtime ships; created once, kept in .aws-sam/."""
    return lambda_runtime(python313)
