"""The function as `sam build` packages it, run as the Lambda python3.13 runtime would run it.

The rest of the suite imports `credit_monitor` from src/ in the development venv, where moto, pytest and
every dependency of the tools are importable too. A package that forgot a dependency (or imports a
dev-only one) passes there and fails its first cold start in AWS. This module closes that gap:

- `sam_build` runs `sam build` (python3.13, as a deployment does), compiles the package's bytecode as
  `make deploy` does, and reads the BUILT template;
- `lambda_runtime` is a python3.13 venv holding only what the runtime ships: boto3 and botocore at a
  version in the range Lambda provides, and their dependencies; nothing of this project;
- `invoke_built` starts that interpreter with PYTHONPATH = the build directory (the task root) and a
  clean environment, imports the template's Handler and calls it with an event and a context object,
  then reports what it returned and where every imported module came from.

Test code only (tests/ is not in the Lambda package).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credit_monitor.deploy_settings import AccountsChoice, Origin
from tests.support.cfn import ACCOUNT, REGION, REPO, load_template

LAMBDA_PYTHON = "python3.13"
"""The template's Runtime; `sam build` needs the same interpreter on PATH."""

LAMBDA_SDK = ("boto3==1.38.36", "botocore==1.38.36")
"""What the Lambda python3.13 runtime ships (AWS's "Runtime-included SDK versions" table moves with
time; any 1.3x pair in that range will do). Both pinned: boto3 alone lets pip take a newer botocore,
and Lambda ships a matched pair."""

RUNTIME_DISTRIBUTIONS = frozenset(
    {"boto3", "botocore", "jmespath", "python-dateutil", "s3transfer", "six", "urllib3"}
)
"""Every distribution the runtime venv may hold: the SDK and its dependencies, nothing else."""

DEV_ONLY_MODULES = (
    "pytest",
    "_pytest",
    "pytest_socket",
    "moto",
    "trustme",
    "yaml",
    "samtranslator",
    "cfnlint",
    "mypy",
    "mypy_boto3_sns",
    "tests",
)
"""Importable in the development venv, and must not be in the function's interpreter."""

CACHE = REPO / ".aws-sam" / "lambda-runtime"
"""Where the runtime venv is kept between runs: .aws-sam/ is git-ignored and `make clean` removes it."""

SAM_ENV = {"SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": REGION}
FUNCTION = "CreditMonitorFunction"


def working_python313() -> str | None:
    """`python3.13` on PATH when it runs (a pyenv shim of an inactive version does not), else None."""
    path = shutil.which(LAMBDA_PYTHON)
    if path is None:
        return None
    probe = subprocess.run(
        [path, "-c", "import sys, venv, ensurepip; assert sys.version_info[:2] == (3, 13)"],
        capture_output=True,
        timeout=60,
        check=False,
    )
    return path if probe.returncode == 0 else None


@dataclass(frozen=True)
class BuiltFunction:
    """One function of `sam build`'s output, described by the built template (what `sam deploy` ships)."""

    build_dir: Path
    template: dict[str, Any]
    """The built template: CodeUri points into the build directory."""
    logical_id: str

    @property
    def properties(self) -> dict[str, Any]:
        props: dict[str, Any] = {
            **self.template.get("Globals", {}).get("Function", {}),
            **self.template["Resources"][self.logical_id]["Properties"],
        }
        return props

    @property
    def task_root(self) -> Path:
        """The package directory: Lambda unzips it to /var/task (LAMBDA_TASK_ROOT)."""
        return (self.build_dir / str(self.properties["CodeUri"])).resolve()

    @property
    def handler(self) -> str:
        return str(self.properties["Handler"])

    @property
    def timeout_seconds(self) -> int:
        return int(self.properties["Timeout"])

    @property
    def memory_mb(self) -> int:
        value = self.properties["MemorySize"]
        if isinstance(value, dict) and "Ref" in value:  # the template's parameter, at its default
            value = self.template["Parameters"][value["Ref"]]["Default"]
        return int(value)


def sam_build(build_dir: Path, logical_id: str = FUNCTION) -> BuiltFunction:
    """`sam build` of template.yaml into `build_dir`, with SAM's dependency cache kept in .aws-sam/cache,
    and the package completed as `make deploy` completes it (its bytecode). Raises AssertionError with
    sam's output when the build fails."""
    sam = shutil.which("sam")
    assert sam is not None, "sam is not on PATH; run the suite through `make test`, which installs it"
    result = subprocess.run(
        [
            sam,
            "build",
            "--build-dir",
            str(build_dir),
            "--cached",
            "--cache-dir",
            str(REPO / ".aws-sam" / "cache"),
        ],
        cwd=REPO,
        env={**os.environ, **SAM_ENV},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    from scripts import deploy  # make deploy's own step after the build: the bytecode, here

    zero_config = deploy.Packaged(AccountsChoice(None, Origin.NONE), (), "", copied=False)
    deploy.complete_package(build_dir, zero_config, working_python313())
    template = load_template((build_dir / "template.yaml").read_text())
    return BuiltFunction(build_dir, template, logical_id)


# Runs in python3.13: every module of the package against its bytecode, as Lambda's python3.13 would
# find it. argv: the task root. Prints the problems as JSON (an empty list: every .py has its .pyc).
_BYTECODE_CHECK = """
import importlib.util, json, pathlib, sys
root = pathlib.Path(sys.argv[1])
problems, count = [], 0
for source in sorted(root.rglob("*.py")):
    count += 1
    pyc = source.parent / "__pycache__" / (source.stem + "." + sys.implementation.cache_tag + ".pyc")
    name = str(source.relative_to(root))
    if not pyc.is_file():
        problems.append(name + ": no bytecode")
        continue
    data = pyc.read_bytes()
    if data[:4] != importlib.util.MAGIC_NUMBER:
        problems.append(name + ": bytecode of another Python")
    elif int.from_bytes(data[4:8], "little") != 0b01:  # hash-based, source not checked
        problems.append(name + ": not unchecked-hash bytecode")
    elif data[8:16] != importlib.util.source_hash(source.read_bytes()):
        problems.append(name + ": bytecode of another source")
print(json.dumps({"modules": count, "problems": problems}))
"""


def bytecode_problems(python313: str, task_root: Path) -> tuple[int, list[str]]:
    """(modules, problems): each .py of the package without current unchecked-hash 3.13 bytecode."""
    done = subprocess.run(
        [python313, "-c", _BYTECODE_CHECK, str(task_root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout)
    return int(report["modules"]), list(report["problems"])


def lambda_runtime(python313: str) -> Path:
    """The python of a venv with only the runtime's SDK, created once and kept in .aws-sam/.

    Built in a scratch directory and renamed into place, so an interrupted run never leaves a
    half-installed venv that later runs would trust. pip is removed after use: Lambda's code cannot
    count on it, and the venv must hold nothing but RUNTIME_DISTRIBUTIONS.
    """
    version = subprocess.run(
        [python313, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    target = CACHE / f"python{version}-{'-'.join(LAMBDA_SDK).replace('==', '-')}"
    python = target / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import boto3"], timeout=60).returncode == 0:
        return python
    CACHE.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".creating-", dir=CACHE))
    pip = [str(scratch / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    try:
        for step in (
            [python313, "-m", "venv", str(scratch)],
            [*pip, "install", *LAMBDA_SDK],
            [*pip, "uninstall", "-y", "pip"],
        ):
            done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
            assert done.returncode == 0, f"{' '.join(step)} failed:\n{done.stdout}{done.stderr}"
        shutil.rmtree(target, ignore_errors=True)
        scratch.rename(target)  # a venv's bin/python links to the base interpreter: it survives the move
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return python


def lambda_environment(
    function: BuiltFunction, function_name: str, variables: dict[str, str]
) -> dict[str, str]:
    """What the Lambda service sets in the sandbox, plus the function's own `variables`; nothing from the
    environment running the tests (its AWS profile, virtualenv or PYTHONPATH must not help)."""
    task_root = str(function.task_root)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": task_root,
        "PYTHONPATH": task_root,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.properties['Runtime']}",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **variables,
    }


# Runs in the runtime venv, not here: plain Python 3.13 with nothing but the standard library at hand
# until the handler's module is imported. argv: handler, event file, report file, timeout, dev modules,
# the invoked function's ARN.
_CHILD = """
import importlib, importlib.metadata, importlib.util, json, os, sys, sysconfig, time, traceback, uuid

handler_name, event_file, report_file, timeout, dev_only, function_arn = sys.argv[1:7]
deadline = time.monotonic() + float(timeout)

class LambdaContext:
    function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
    function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
    memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
    invoked_function_arn = function_arn
    aws_request_id = str(uuid.uuid4())
    log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
    log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]

    def get_remaining_time_in_millis(self):
        return max(0, int((deadline - time.monotonic()) * 1000))

purelib = sysconfig.get_paths()["purelib"]
report = {
    "executable": sys.executable,
    "version": list(sys.version_info[:3]),
    "sys_path": sys.path,
    "roots": {"stdlib": sysconfig.get_paths()["stdlib"], "runtime": purelib},
    "runtime_distributions": sorted(
        d.metadata["Name"].lower() for d in importlib.metadata.distributions(path=[purelib])
    ),
    "dev_importable": [name for name in dev_only.split(",") if importlib.util.find_spec(name) is not None],
    "result": None,
    "error": None,
}
module_name, _, attribute = handler_name.rpartition(".")
try:
    handler = getattr(importlib.import_module(module_name), attribute)
    with open(event_file) as f:
        event = json.load(f)
    report["result"] = handler(event, LambdaContext())
except Exception as exc:
    report["error"] = {
        "errorType": type(exc).__name__, "errorMessage": str(exc), "stackTrace": traceback.format_exc()
    }
sys.stdout.flush()
report["modules"] = {
    name: module.__file__ for name, module in list(sys.modules.items()) if getattr(module, "__file__", None)
}
with open(report_file, "w") as f:
    json.dump(report, f)
"""


@dataclass(frozen=True)
class BuiltInvocation:
    """One invocation of the built function in its own interpreter."""

    returncode: int
    stdout: str
    """What CloudWatch Logs would receive: EMF lines and the JSON log lines."""
    stderr: str
    report: dict[str, Any]

    @property
    def result(self) -> Any:
        return self.report["result"]

    @property
    def error(self) -> dict[str, str] | None:
        error: dict[str, str] | None = self.report["error"]
        return error

    def module_origins(self, task_root: Path) -> dict[str, str]:
        """{module: "task root" | "runtime" | "stdlib" | its file}, for every module imported."""
        roots = {
            "task root": str(task_root),
            "runtime": self.report["roots"]["runtime"],
            "stdlib": self.report["roots"]["stdlib"],
        }
        origins = {}
        for name, file in self.report["modules"].items():
            origins[name] = next(
                (label for label, root in roots.items() if os.path.realpath(file).startswith(root + os.sep)),
                file,
            )
        return origins


def invoke_built(
    python: Path,
    function: BuiltFunction,
    event_file: Path,
    environment: dict[str, str],
    workdir: Path,
) -> BuiltInvocation:
    """Import the template's Handler from the task root and call it once, as Lambda would on a cold
    start. `-B`: the task root is read-only in Lambda, so nothing is compiled into it here either."""
    report_file = workdir / f"report-{uuid.uuid4().hex}.json"
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{environment['AWS_LAMBDA_FUNCTION_NAME']}"
    done = subprocess.run(
        [
            str(python),
            "-B",
            "-c",
            _CHILD,
            function.handler,
            str(event_file),
            str(report_file),
            str(function.timeout_seconds),
            ",".join(DEV_ONLY_MODULES),
            function_arn,
        ],
        cwd=function.task_root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=function.timeout_seconds + 30,
        check=False,
    )
    report: dict[str, Any] = json.loads(report_file.read_text()) if report_file.exists() else {}
    assert report, f"the function's interpreter exited {done.returncode} before reporting:\n{done.stderr}"
    return BuiltInvocation(done.returncode, done.stdout, done.stderr, report)
