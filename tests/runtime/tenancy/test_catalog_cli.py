"""The catalog command line: add/remove rewrite the file without moving anyone; errors exit 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from dbpatterns.runtime.tenancy.catalog import load_catalog
from dbpatterns.runtime.tenancy.catalog_cli import main

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def catalog_path(tmp_path: Path) -> Path:
    path = tmp_path / "tenants.json"
    shutil.copy(REPO_ROOT / "tenants.json", path)
    return path


def test_validate_prints_the_summary_and_fits_the_quotas(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", "--catalog", str(catalog_path)]) == 0

    out = capsys.readouterr().out
    assert "8 tenants (4 pooled, 2 standard, 2 enterprise)" in out
    assert "shard 1: 4 tenants (+1 moving in)" in out
    assert "planned move: bluth pool-001 -> std-bluth" in out
    assert "fits the default regional RDS quotas" in out


def test_add_gives_a_pooled_tenant_the_lowest_shard_with_room_and_moves_nobody(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {t.tenant_id: t for t in load_catalog(catalog_path)}

    assert (
        main(
            [
                "add",
                "--catalog",
                str(catalog_path),
                "--id",
                "umbrella",
                "--name",
                "Umbrella",
                "--tier",
                "pooled",
            ]
        )
        == 0
    )

    after = load_catalog(catalog_path)
    assert after.get("umbrella").shard == 1
    assert {t.tenant_id: t for t in after if t.tenant_id != "umbrella"} == before
    assert "added umbrella (pooled) in shard 1; database pool-001" in capsys.readouterr().out


def test_add_and_remove_round_trip_leaves_the_file_as_it_was(catalog_path: Path) -> None:
    original = load_catalog(catalog_path)

    assert (
        main(
            [
                "add",
                "--catalog",
                str(catalog_path),
                "--id",
                "wayne",
                "--name",
                "Wayne",
                "--tier",
                "enterprise",
                "--readers",
                "2",
            ]
        )
        == 0
    )
    assert load_catalog(catalog_path).get("wayne").overrides.readers == 2
    assert main(["remove", "--catalog", str(catalog_path), "--id", "wayne"]) == 0

    assert load_catalog(catalog_path) == original


def test_an_override_that_makes_no_sense_exits_2_naming_the_tenant_and_leaves_the_file_alone(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = catalog_path.read_text()

    code = main(
        [
            "add",
            "--catalog",
            str(catalog_path),
            "--id",
            "tiny",
            "--name",
            "Tiny",
            "--tier",
            "pooled",
            "--readers",
            "1",
        ]
    )

    assert code == 2
    assert "tenant 'tiny'" in capsys.readouterr().err
    assert catalog_path.read_text() == text


def test_quotas_of_a_generated_fleet_print_the_warning_with_the_quota_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_path = tmp_path / "fleet.json"
    assert main(["generate", "--out", str(out_path)]) == 0
    assert len(json.loads(out_path.read_text())["tenants"]) == 1000

    assert main(["quotas", "--catalog", str(out_path), "--shared-groups"]) == 0

    out = capsys.readouterr().out
    assert "db_instances: 139" in out
    assert "warning: RDS quota 'DB instances': the fleet needs 139, the region allows 40" in out


def test_a_limit_for_an_unknown_quota_is_refused(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["quotas", "--catalog", str(catalog_path), "--limit", "DB instanses=100"]) == 2
    assert "--limit" in capsys.readouterr().err


def test_plan_complete_and_cancel_a_move_rewrite_only_that_tenant(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(catalog_path)
    before = load_catalog(catalog_path)

    assert (
        main(["plan-move", "--catalog", path, "--id", "pied-piper", "--tier", "enterprise", "--readers", "1"])
        == 0
    )
    assert "planned: pied-piper pool-001 -> ent-pied-piper" in capsys.readouterr().out
    assert main(["cancel-move", "--catalog", path, "--id", "pied-piper"]) == 0
    assert load_catalog(catalog_path) == before

    assert main(["plan-move", "--catalog", path, "--id", "hooli", "--tier", "pooled"]) == 0
    assert load_catalog(catalog_path).get("hooli").target_database_id == "pool-001"  # the shard with room
    assert main(["complete-move", "--catalog", path, "--id", "hooli"]) == 0
    out = capsys.readouterr().out
    assert "completed: hooli is pooled on pool-001 (was std-hooli)" in out
    assert "retired: std-hooli (stack DbPatterns-Tenant-hooli) left the app" in out
    after = load_catalog(catalog_path)
    assert (after.get("hooli").tier.value, after.get("hooli").shard, after.get("hooli").move_to) == (
        "pooled",
        1,
        None,
    )
    assert [t for t in after if t.tenant_id != "hooli"] == [t for t in before if t.tenant_id != "hooli"]


def test_a_move_the_catalog_refuses_exits_2_and_leaves_the_file_alone(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = catalog_path.read_text()

    assert main(["plan-move", "--catalog", str(catalog_path), "--id", "hooli", "--tier", "standard"]) == 2
    assert "already on its own standard database std-hooli" in capsys.readouterr().err
    assert main(["plan-move", "--catalog", str(catalog_path), "--id", "acme", "--tier", "pooled"]) == 0
    assert main(["plan-move", "--catalog", str(catalog_path), "--id", "bluth", "--tier", "pooled"]) == 2
    assert "no other declared shard has room" in capsys.readouterr().err
    assert main(["cancel-move", "--catalog", str(catalog_path), "--id", "hooli"]) == 2
    assert main(["complete-move", "--catalog", str(catalog_path), "--id", "hooli"]) == 2
    assert catalog_path.read_text() != text  # only acme's plan was written
    assert load_catalog(catalog_path).get("acme").target_database_id == "pool-001"


def test_a_standard_tenant_goes_enterprise_and_back_through_its_generations(
    catalog_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(catalog_path)
    before = load_catalog(catalog_path)

    assert (
        main(["plan-move", "--catalog", path, "--id", "hooli", "--tier", "enterprise", "--readers", "1"]) == 0
    )
    assert "planned: hooli std-hooli -> ent-hooli in DbPatterns-Tenant-hooli--gen2" in capsys.readouterr().out
    assert main(["complete-move", "--catalog", path, "--id", "hooli"]) == 0
    out = capsys.readouterr().out
    assert (
        "completed: hooli is enterprise on ent-hooli in DbPatterns-Tenant-hooli--gen2 (was std-hooli)" in out
    )
    assert "retired: std-hooli (stack DbPatterns-Tenant-hooli) left the app" in out
    assert main(["validate", "--catalog", path]) == 0
    assert "retired: hooli std-hooli (stack DbPatterns-Tenant-hooli)" in capsys.readouterr().out

    # The way back would reuse std-hooli: refused until the old stack is deleted and forgotten.
    text = catalog_path.read_text()
    assert main(["plan-move", "--catalog", path, "--id", "hooli", "--tier", "standard"]) == 2
    assert "forget-retired" in capsys.readouterr().err
    assert catalog_path.read_text() == text
    assert main(["forget-retired", "--catalog", path, "--id", "hooli"]) == 0
    assert "forgot: hooli std-hooli (stack DbPatterns-Tenant-hooli)" in capsys.readouterr().out
    assert main(["forget-retired", "--catalog", path, "--id", "hooli"]) == 2
    assert "no retired database" in capsys.readouterr().err
    assert main(["plan-move", "--catalog", path, "--id", "hooli", "--tier", "standard"]) == 0
    assert "-> std-hooli in DbPatterns-Tenant-hooli--gen3" in capsys.readouterr().out
    assert main(["complete-move", "--catalog", path, "--id", "hooli"]) == 0

    hooli = load_catalog(catalog_path).get("hooli")
    assert (hooli.tier.value, hooli.generation, hooli.stack_name) == (
        "standard",
        3,
        "DbPatterns-Tenant-hooli--gen3",
    )
    assert hooli.retired is not None
    assert (hooli.retired.tier.value, hooli.retired.generation) == ("enterprise", 2)
    others = [t for t in load_catalog(catalog_path) if t.tenant_id != "hooli"]
    assert others == [t for t in before if t.tenant_id != "hooli"]
