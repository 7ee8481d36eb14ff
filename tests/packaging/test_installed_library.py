"""The construct library as a user gets it.

Once per run: a fresh virtualenv, ``pip install "./constructs[...]"`` (not editable, from a copy of the
distribution's folder, so nothing is built inside this repository), and a user app of its own
(:mod:`tests.packaging.user_app`) synthesized in a temp folder outside the repository, without
``cdk.json``, with a private and empty temp directory: once with no feature flags and once with the
flags ``cdk init`` writes (this repo's ``cdk.json`` holds exactly those).

Cost: this machine's package index answers without cache headers, so pip's HTTP cache stays empty and
every install would download ~100 MB. The wheels are kept in pytest's cache folder instead
(``.pytest_cache/d/dbpatterns-wheelhouse``) and the install runs offline from them (``--no-index``); when
that fails (first run, or a changed dependency) they are fetched again with ``pip wheel``.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import pkgutil
import shutil
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from constructs import Construct

import dbpatterns
from tests.packaging.flag_neutral import differences, flag_neutral_resources
from tests.support.synth import REPO_ROOT, cdk_json_context

# One venv per run: with pytest-xdist, run with --dist loadgroup so this module stays on one worker.
pytestmark = [pytest.mark.synth, pytest.mark.xdist_group("installed-library")]

#: The extras a user needs for every construct and every runtime part.
EXTRAS = "dax,handlers,caching,nag,tenancy"
USER_APP = Path(__file__).with_name("user_app.py")
#: Top-level modules that only the extras install: the construct modules must import without them.
EXTRA_MODULES = (
    "cdk_nag",
    "amazondax",
    "antlr4",
    "redis",
    "aws_lambda_powertools",
    "boto3",
    "fastjsonschema",
    "pg8000",
)
_TIMEOUT = 900


@dataclass(frozen=True)
class Venv:
    python: Path
    seconds: dict[str, float]

    def run(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - the venv's interpreter with fixed arguments
            [str(self.python), *args],
            env=env if env is not None else _clean_env(),
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT,
            check=False,
        )


def _clean_env(**extra: str) -> dict[str, str]:
    """The test environment without anything that would let the repo's code in (PYTHONPATH)."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "CDK_CONTEXT_JSON"}}
    env.update(extra)
    return env


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter's pip with fixed arguments
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,
        check=False,
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Venv:
    seconds: dict[str, float] = {}
    root = tmp_path_factory.mktemp("installed-library")
    source = root / "constructs"
    shutil.copytree(
        REPO_ROOT / "constructs",
        source,
        ignore=shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc"),
    )
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    wheelhouse = Path(cache.mkdir("dbpatterns-wheelhouse")) if cache else root / "wheelhouse"
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")], check=True)  # noqa: S603
    python = root / "venv" / "bin" / "python"
    seconds["venv"] = time.monotonic() - started

    requirement = f"{source}[{EXTRAS}]"
    install = ("--python", str(python), "install", "--quiet", "--no-compile", "--no-index", "--find-links")
    started = time.monotonic()
    installed = _pip(*install, str(wheelhouse), requirement)
    if installed.returncode != 0:  # first run, or the dependencies changed: fetch the wheels again
        fetched = _pip("wheel", "--quiet", "--wheel-dir", str(wheelhouse), requirement, "setuptools>=68")
        assert fetched.returncode == 0, f"pip wheel failed:\n{fetched.stdout}\n{fetched.stderr}"
        for own in wheelhouse.glob("dbpatterns-*.whl"):
            own.unlink()  # always built from the source folder, never from an old wheel
        seconds["fetch wheels"] = time.monotonic() - started
        started = time.monotonic()
        installed = _pip(*install, str(wheelhouse), requirement)
    assert installed.returncode == 0, f"pip install failed:\n{installed.stdout}\n{installed.stderr}"
    seconds["pip install"] = time.monotonic() - started
    return Venv(python=python, seconds=seconds)


@dataclass(frozen=True)
class UserAppRun:
    workdir: Path
    outdir: Path
    temp: Path
    report: dict[str, Any]
    seconds: float

    def template(self, stack: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.outdir / f"{stack}.template.json").read_text())
        return loaded

    @property
    def manifest(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.outdir / "manifest.json").read_text())
        return loaded

    @property
    def stacks(self) -> list[str]:
        return sorted(p.name.removesuffix(".template.json") for p in self.outdir.glob("*.template.json"))


def _run_user_app(venv: Venv, workdir: Path, context: dict[str, Any] | None) -> UserAppRun:
    """Run the user app like ``cdk synth`` would, in ``workdir`` (outside the repo), with its own TMPDIR."""
    workdir.mkdir()
    temp = workdir.parent / f"{workdir.name}-tmp"
    temp.mkdir()
    shutil.copy(USER_APP, workdir / "app.py")
    env = _clean_env(
        CDK_OUTDIR=str(workdir / "cdk.out"),
        USER_APP_REPORT=str(workdir / "report.json"),
        TMPDIR=str(temp),
        # aws-cdk-lib's built-in template check costs seconds per stack; the cfn-lint gate covers it.
        CDK_VALIDATION="false",
    )
    if context is not None:
        env["CDK_CONTEXT_JSON"] = json.dumps(context)
    started = time.monotonic()
    result = venv.run("app.py", env=env, cwd=workdir)
    seconds = time.monotonic() - started
    assert result.returncode == 0, f"user app failed:\n{result.stdout}\n{result.stderr}"
    report = json.loads((workdir / "report.json").read_text())
    return UserAppRun(workdir, workdir / "cdk.out", temp, report, seconds)


@pytest.fixture(scope="module")
def no_flags(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> UserAppRun:
    return _run_user_app(venv, tmp_path_factory.mktemp("user") / "no-flags", context=None)


@pytest.fixture(scope="module")
def init_flags(venv: Venv, tmp_path_factory: pytest.TempPathFactory) -> UserAppRun:
    flags = {key: value for key, value in cdk_json_context().items() if key.startswith("@aws-cdk")}
    return _run_user_app(venv, tmp_path_factory.mktemp("user") / "init-flags", context=flags)


def _script(venv: Venv, code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return venv.run("-c", textwrap.dedent(code), env=_clean_env(**env))


# --- the distribution -----------------------------------------------------------------------------


def test_library_is_imported_from_the_installed_distribution(venv: Venv) -> None:
    result = _script(venv, "import dbpatterns; print(dbpatterns.__file__)")
    assert result.returncode == 0, result.stderr
    location = Path(result.stdout.strip())
    assert location.is_relative_to(venv.python.parent.parent / "lib"), location
    assert not location.is_relative_to(REPO_ROOT)
    print(f"\ninstalled library: {', '.join(f'{k} {v:.1f} s' for k, v in venv.seconds.items())}")


_BLOCK_EXTRAS = """
    import importlib, importlib.abc, sys

    BLOCKED = set(sys.argv[1].split(","))

    class Blocker(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked)", name=name)
            return None

    sys.meta_path.insert(0, Blocker())
"""


def test_construct_modules_need_only_the_core_dependencies_and_the_rest_their_extras(venv: Venv) -> None:
    """One process (importing aws-cdk-lib costs seconds): first the construct modules with the
    extras' modules blocked, then every module of the distribution with them."""
    code = textwrap.dedent(_BLOCK_EXTRAS) + textwrap.dedent(
        """
        import pathlib
        import dbpatterns
        root = pathlib.Path(dbpatterns.__file__).parent
        # From the file names: walking packages would import them, and swallow the blocked imports.
        names = sorted(
            ".".join(("dbpatterns", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
            for p in root.rglob("*.py")
        )
        runtime = ("dbpatterns.handlers", "dbpatterns.runtime", "dbpatterns.compliance")
        for name in names:
            if not name.startswith(runtime):
                importlib.import_module(name)
        sys.meta_path.pop(0)
        for name in names:
            importlib.import_module(name)
        print(len(names))
        """
    )
    result = venv.run("-c", code, ",".join(EXTRA_MODULES), env=_clean_env(AWS_DEFAULT_REGION="us-east-1"))
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 50


def test_compliance_module_names_the_extra_it_needs(venv: Venv) -> None:
    code = textwrap.dedent(_BLOCK_EXTRAS) + "\nimport dbpatterns.compliance\n"
    result = venv.run("-c", code, "cdk_nag")
    assert result.returncode != 0
    assert 'pip install "dbpatterns[nag]"' in result.stderr


@pytest.mark.parametrize(
    "module", ["dbpatterns.handlers.ledger.replay", "dbpatterns.capacity"], ids=["ledger-replay", "capacity"]
)
def test_command_line_tools_run(venv: Venv, module: str) -> None:
    result = venv.run("-m", module, "--help", env=_clean_env(AWS_DEFAULT_REGION="us-east-1"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage:")


# --- a user's app -----------------------------------------------------------------------------------


def test_user_app_synthesizes_every_stack_without_lookups(no_flags: UserAppRun) -> None:
    assert {"UserData", "UserApis", "UserDisasterRecovery", "UserSocial"} <= set(no_flags.stacks)
    assert no_flags.manifest.get("missing", []) == []
    assert not (no_flags.workdir / "cdk.context.json").exists()
    print(f"\nuser app synth: {no_flags.seconds:.1f} s")


def test_user_app_leaves_nothing_behind(no_flags: UserAppRun, init_flags: UserAppRun) -> None:
    for run in (no_flags, init_flags):
        assert list(run.temp.iterdir()) == []
        assert sorted(p.name for p in run.workdir.iterdir()) == ["app.py", "cdk.out", "report.json"]


def _library_construct_classes() -> set[str]:
    """Every Construct subclass the library defines (from this checkout's sources)."""
    found: set[str] = set()
    for module_info in pkgutil.walk_packages(dbpatterns.__path__, "dbpatterns."):
        if module_info.name.startswith(("dbpatterns.handlers", "dbpatterns.runtime")):
            continue
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, Construct):
                found.add(f"{cls.__module__}.{cls.__qualname__}")
    return found


def test_user_app_uses_every_construct_of_the_library(no_flags: UserAppRun) -> None:
    unused = _library_construct_classes() - set(no_flags.report["library_classes"])
    assert unused == set(), f"add these to tests/packaging/user_app.py: {sorted(unused)}"


def test_each_construct_works_or_says_what_to_pass_without_an_environment(no_flags: UserAppRun) -> None:
    outcomes: dict[str, str] = no_flags.report["anywhere"]
    failed = {name: o for name, o in outcomes.items() if o != "ok"}
    for name, outcome in failed.items():
        assert outcome.startswith("PropValidationError: "), (name, outcome)
        assert "env=Environment(account=..., region=...)" in outcome, (name, outcome)
    # Everything that needs no region-specific rendering works anywhere.
    assert set(failed) == {"DynamoTable(CUSTOMER_MANAGED)", "FlashSaleOrderPipeline", "EventSourcedLedger"}


# --- feature flags ----------------------------------------------------------------------------------


def test_cdk_init_flags_change_no_setting(no_flags: UserAppRun, init_flags: UserAppRun) -> None:
    assert init_flags.stacks == no_flags.stacks
    for stack in no_flags.stacks:
        without = flag_neutral_resources(no_flags.template(stack))
        with_flags = flag_neutral_resources(init_flags.template(stack))
        found = differences(without, with_flags)
        assert found == [], f"{stack}:\n" + "\n".join(found[:40])


def test_audit_archive_access_logs_are_written_the_same_with_and_without_flags(
    no_flags: UserAppRun, init_flags: UserAppRun
) -> None:
    """The S3 case: without ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`` CDK would switch the
    log bucket to ACL delivery, which BUCKET_OWNER_ENFORCED refuses; the construct sets it explicitly."""

    def archive(run: UserAppRun) -> dict[str, Any]:
        resources = run.template("UserApis")["Resources"]
        return {
            name: r
            for name, r in resources.items()
            if name.startswith("LedgerAuditArchive") and r["Type"].startswith("AWS::S3::")
        }

    without = archive(no_flags)
    assert (
        sorted(r["Type"] for r in without.values()) == ["AWS::S3::Bucket"] * 2 + ["AWS::S3::BucketPolicy"] * 2
    )
    assert archive(init_flags) == without
    log_bucket = next(
        r
        for n, r in without.items()
        if n.startswith("LedgerAuditArchiveAccessLogs") and r["Type"] == "AWS::S3::Bucket"
    )
    assert "AccessControl" not in log_bucket["Properties"]
    assert log_bucket["Properties"]["OwnershipControls"] == {
        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]
    }
