"""The move CLI end to end (moto directory, real databases): progress per table, a final report with
counts, checksums and the measured write pause; status, cleanup, and exit code 2 for bad input."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest

from dbpatterns.runtime.tenancy.directory import TenantDirectory
from dbpatterns.runtime.tenancy.move.cli import main
from tests.runtime.tenancy.move.conftest import POOL, STANDARD, TABLE_NAME, TENANT, Fleet, seed

pytestmark = pytest.mark.needs_server

COMMON = ["--table", TABLE_NAME, "--region", "us-east-1"]


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = main([*argv, *COMMON], out=out)
    return code, out.getvalue()


def test_migrate_prints_progress_and_a_report_with_the_write_pause(
    fleet: Fleet, table: Any, directory: TenantDirectory
) -> None:
    seed(fleet, projects=12, tasks=3)

    code, output = run(
        "migrate", "--tenant", TENANT, "--to", "standard", "--batch-rows", "5", "--settle-seconds", "0"
    )

    assert code == 0, output
    assert "[copying] projects: 5 rows copied" in output
    assert "[copying] tasks: 36 rows copied" in output
    assert "[cutover] writes paused" in output
    assert re.search(r"\[verifying\] tasks: source 36 rows / -?\d+, target 36 rows / -?\d+: ok", output)
    assert re.search(
        rf"moved {TENANT} \(mv-[0-9a-f]{{12}}\): {POOL} \(pooled\) -> {STANDARD} \(standard\)", output
    )
    assert re.search(r"^projects\s+12\s+12\s+12\s+-?\d+\s+ok$", output, re.MULTILINE)
    pause = re.search(r"write pause \(cutover -> active\): (\d+\.\d{3}) s", output)
    assert pause is not None
    assert 0 < float(pause.group(1)) < 5
    assert directory.get_tenant(TENANT).database_id == STANDARD


def test_status_and_cleanup_after_a_move(fleet: Fleet, table: Any, directory: TenantDirectory) -> None:
    seed(fleet)
    assert (
        run("migrate", "--tenant", TENANT, "--to", "standard", "--settle-seconds", "0", "--grace-hours", "0")[
            0
        ]
        == 0
    )

    code, status = run("status", "--tenant", TENANT)
    assert code == 0
    assert f"{TENANT}: active in {STANDARD} (standard)" in status
    assert f"old rows in {POOL}" in status

    code, cleaned = run("cleanup", "--tenant", TENANT)
    assert (code, cleaned.strip()) == (
        0,
        f"cleaned up: deleted the old rows of {TENANT} (tasks 36, projects 12)",
    )
    assert fleet.rows(POOL) == {"projects": [], "tasks": []}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["migrate", "--tenant", "t-nobody", "--to", "standard"], "not in the tenant directory"),
        (["migrate", "--tenant", TENANT, "--to", "pooled"], "--to pooled needs --database"),
        (["migrate", "--tenant", TENANT, "--to", "pooled", "--database", POOL], "the same"),
        (["migrate", "--tenant", "Not A Slug", "--to", "standard"], "--tenant"),
        (["rollback", "--tenant", TENANT], "no move to roll back"),
    ],
)
def test_rejects_bad_input_with_exit_code_2(
    fleet: Fleet, table: Any, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _ = run(*argv)

    assert code == 2
    assert message in capsys.readouterr().err
