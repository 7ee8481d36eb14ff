"""Lambda assets are staged straight into the cloud assembly: no temp folders, hashes from content."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from dbpatterns.common.assets import AssetFiles
from dbpatterns.common.function import handler_files
from tests.support.synth import REPO_ROOT

pytestmark = pytest.mark.synth

# A user app in a process of its own: a flash-sale pipeline has both staged assets of the library (the
# handler code and the DAX client layer).
_APP = textwrap.dedent(
    """
    import sys

    import aws_cdk as cdk

    from dbpatterns.common.api_logging import AccountCloudWatchRole
    from dbpatterns.common.network import DeployTimeAzStack, IsolatedNetwork, IsolatedNetworkProps
    from dbpatterns.common.profile import DeploymentProfile
    from dbpatterns.flash_sale import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps

    app = cdk.App(outdir=sys.argv[1])
    stack = DeployTimeAzStack(app, "Assets", env=cdk.Environment(account="123456789012", region="us-east-1"))
    network = IsolatedNetwork(stack, "Network", IsolatedNetworkProps(profile=DeploymentProfile.SANDBOX))
    FlashSaleOrderPipeline(
        stack,
        "Orders",
        FlashSaleOrderPipelineProps(
            profile=DeploymentProfile.SANDBOX,
            vpc=network.vpc,
            account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
        ),
    )
    app.synth()
    """
)


def _synth_in_subprocess(workdir: Path, run: str) -> tuple[Path, Path]:
    """Synthesize :data:`_APP` with a private, empty temp directory; returns (cloud assembly, temp dir)."""
    temp = workdir / f"tmp-{run}"
    temp.mkdir()
    outdir = workdir / f"cdk.out-{run}"
    env = {
        **os.environ,
        "TMPDIR": str(temp),
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "constructs"), str(REPO_ROOT)]),
        "CDK_VALIDATION": "false",
    }
    subprocess.run(  # noqa: S603 - this interpreter and a fixed script
        [sys.executable, "-c", _APP, str(outdir)], env=env, check=True, capture_output=True, timeout=300
    )
    return outdir, temp


def _lambda_assets(outdir: Path) -> dict[str, str]:
    """Logical ID -> staged asset folder of every Lambda function and layer in the assembly."""
    template = json.loads((outdir / "Assets.template.json").read_text())
    assets: dict[str, str] = {}
    for logical_id, resource in template["Resources"].items():
        code: dict[str, Any] = (
            resource["Properties"].get("Code") or resource["Properties"].get("Content") or {}
        )
        key = code.get("S3Key")
        if resource["Type"] in {"AWS::Lambda::Function", "AWS::Lambda::LayerVersion"} and isinstance(
            key, str
        ):
            assets[logical_id] = "asset." + key.removesuffix(".zip")
    return assets


def _asset(outdir: Path, logical_id_prefix: str) -> Path:
    (folder,) = [
        f for logical_id, f in _lambda_assets(outdir).items() if logical_id.startswith(logical_id_prefix)
    ]
    return outdir / folder


@pytest.fixture(scope="module")
def two_synths(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[Path, Path], tuple[Path, Path]]:
    workdir = tmp_path_factory.mktemp("assets")
    return _synth_in_subprocess(workdir, "first"), _synth_in_subprocess(workdir, "second")


def test_synth_leaves_nothing_in_the_temp_directory(
    two_synths: tuple[tuple[Path, Path], tuple[Path, Path]],
) -> None:
    for _, temp in two_synths:
        assert [p.name for p in temp.iterdir() if p.name.startswith("dbpatterns-")] == []
        assert list(temp.iterdir()) == []  # nothing else either (jsii and node clean up too)


def test_asset_hashes_are_the_same_in_every_synth(
    two_synths: tuple[tuple[Path, Path], tuple[Path, Path]],
) -> None:
    (first, _), (second, _) = two_synths
    assets = _lambda_assets(first)
    assert _asset(first, "OrdersDaxClientLayer").is_dir()
    assert _asset(first, "OrdersProcessor").is_dir()
    assert _lambda_assets(second) == assets


def test_handler_asset_holds_runtime_code_but_no_construct_code(
    two_synths: tuple[tuple[Path, Path], tuple[Path, Path]],
) -> None:
    (outdir, _), _ = two_synths
    staged = _asset(outdir, "OrdersProcessor") / "dbpatterns"
    assert (staged / "__init__.py").is_file()
    assert (staged / "handlers" / "flash_sale" / "processor.py").is_file()
    assert (staged / "runtime" / "__init__.py").is_file()
    assert not (staged / "common").exists()
    assert not (staged / "dynamodb").exists()
    assert not list(staged.rglob("__pycache__"))
    assert sorted(p.relative_to(staged.parent).as_posix() for p in staged.rglob("*") if p.is_file()) == [
        path for path, _ in handler_files().files
    ]


def test_staged_files_are_readable_by_the_lambda_runtime_user(
    two_synths: tuple[tuple[Path, Path], tuple[Path, Path]],
) -> None:
    (outdir, _), _ = two_synths
    for asset in (_asset(outdir, "OrdersProcessor"), _asset(outdir, "OrdersDaxClientLayer")):
        for path in asset.rglob("*"):
            assert path.stat().st_mode & 0o777 == (0o755 if path.is_dir() else 0o644), path


def test_digest_follows_content_and_path_not_location(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        folder.mkdir()
        (folder / "a.py").write_text("x = 1\n")
    digest = AssetFiles.of([("pkg/a.py", one / "a.py")]).digest
    assert AssetFiles.of([("pkg/a.py", two / "a.py")]).digest == digest
    assert AssetFiles.of([("pkg/b.py", two / "a.py")]).digest != digest
    (two / "a.py").write_text("x = 2\n")
    assert AssetFiles.of([("pkg/a.py", two / "a.py")]).digest != digest


def test_rejects_two_files_for_one_path(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("")
    with pytest.raises(ValueError, match="duplicate paths"):
        AssetFiles.of([("a.py", tmp_path / "a.py"), ("a.py", tmp_path / "a.py")])
