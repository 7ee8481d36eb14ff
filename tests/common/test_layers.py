"""Layers are copied from installed, pinned, unaltered distributions, or fail naming the extra."""

from __future__ import annotations

import base64
import hashlib
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from aws_cdk import Environment, Stack
from aws_cdk import aws_ec2 as ec2

from dbpatterns.common import layers
from dbpatterns.common.api_logging import AccountCloudWatchRole
from dbpatterns.common.layers import PinnedDistribution, VerifiedLayerContent, code_digest
from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.errors import DependencyError
from dbpatterns.flash_sale import pipeline
from dbpatterns.flash_sale.pipeline import FlashSaleOrderPipeline, FlashSaleOrderPipelineProps
from tests.support.synth import REPO_ROOT, new_app

LABEL = "Test 'Stack/Layer'"


def _record_hash(content: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()


def _install_fake_distribution(site: Path) -> str:
    """Lay out ``fake-dist 1.0`` as pip would (package, dist-info, RECORD); returns its code digest."""
    files = {
        "fakepkg/__init__.py": b"VALUE = 1\n",
        "fakepkg/data.json": b"{}\n",
        "fake_dist-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: fake-dist\nVersion: 1.0\n",
        "fake_dist-1.0.dist-info/INSTALLER": b"pip\n",
        "fake_dist-1.0.dist-info/licenses/LICENSE": b"MIT\n",
        "../bin/fake-script": b"#!/bin/sh\n",
    }
    records = [f"{path},{_record_hash(content)},{len(content)}" for path, content in files.items()]
    records += ["fakepkg/__pycache__/__init__.cpython-311.pyc,,", "fake_dist-1.0.dist-info/RECORD,,"]
    files["fake_dist-1.0.dist-info/RECORD"] = "\n".join(records).encode() + b"\n"
    for path, content in files.items():
        target = (site / path).resolve()
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    (site / "fakepkg" / "__pycache__").mkdir()
    (site / "fakepkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"compiled here")
    return code_digest(
        [
            (path, hashlib.sha256(content).hexdigest())
            for path, content in files.items()
            if path.startswith("fakepkg/")
        ]
    )


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, PinnedDistribution]]:
    site = tmp_path / "lib" / "site-packages"
    digest = _install_fake_distribution(site)
    monkeypatch.syspath_prepend(str(site))
    layers._verified.cache_clear()
    yield site, PinnedDistribution(name="fake-dist", version="1.0", code_sha256=digest)
    layers._verified.cache_clear()


def test_layer_holds_the_distribution_under_python_without_install_records(
    fake: tuple[Path, PinnedDistribution],
) -> None:
    site, pin = fake
    content = VerifiedLayerContent.of([pin], construct=LABEL, extra="fake")
    assert [path for path, _ in content.files.files] == [
        "python/fake_dist-1.0.dist-info/METADATA",
        "python/fake_dist-1.0.dist-info/licenses/LICENSE",
        "python/fakepkg/__init__.py",
        "python/fakepkg/data.json",
    ]
    assert dict(content.files.files)["python/fakepkg/__init__.py"] == (site / "fakepkg/__init__.py").resolve()


def test_fails_naming_the_extra_when_the_distribution_is_not_installed(
    fake: tuple[Path, PinnedDistribution],
) -> None:
    _, pin = fake
    absent = replace(pin, name="dbpatterns-test-not-installed")
    with pytest.raises(
        DependencyError, match=r'Test \'Stack/Layer\': .*not installed.*pip install "dbpatterns\[fake\]"'
    ):
        VerifiedLayerContent.of([absent], construct=LABEL, extra="fake")


def test_fails_on_another_installed_version(fake: tuple[Path, PinnedDistribution]) -> None:
    _, pin = fake
    with pytest.raises(DependencyError, match=r"needs fake-dist==2\.0 but fake-dist 1\.0 is installed"):
        VerifiedLayerContent.of([replace(pin, version="2.0")], construct=LABEL, extra="fake")


def test_fails_when_a_file_changed_after_installation(fake: tuple[Path, PinnedDistribution]) -> None:
    site, pin = fake
    (site / "fakepkg" / "__init__.py").write_text("VALUE = 2\n")
    with pytest.raises(
        DependencyError, match=r"fakepkg/__init__\.py does not match the sha256 in its RECORD"
    ):
        VerifiedLayerContent.of([pin], construct=LABEL, extra="fake")


def test_fails_when_a_listed_file_is_missing(fake: tuple[Path, PinnedDistribution]) -> None:
    site, pin = fake
    (site / "fakepkg" / "data.json").unlink()
    with pytest.raises(DependencyError, match=r"fakepkg/data\.json is listed in its RECORD but missing"):
        VerifiedLayerContent.of([pin], construct=LABEL, extra="fake")


def test_fails_when_the_installed_build_is_not_the_pinned_one(fake: tuple[Path, PinnedDistribution]) -> None:
    _, pin = fake
    with pytest.raises(DependencyError, match=r"not the pinned build"):
        VerifiedLayerContent.of([replace(pin, code_sha256="0" * 64)], construct=LABEL, extra="fake")


def test_dax_client_pins_are_the_dax_extra() -> None:
    pyproject = tomllib.loads((REPO_ROOT / "constructs" / "pyproject.toml").read_text())
    extra = pyproject["project"]["optional-dependencies"][pipeline.DAX_CLIENT_EXTRA]
    assert sorted(extra) == sorted(pin.requirement for pin in pipeline.DAX_CLIENT_DISTRIBUTIONS)


def test_dax_client_layer_comes_from_the_installed_extra_with_its_licences() -> None:
    content = VerifiedLayerContent.of(pipeline.DAX_CLIENT_DISTRIBUTIONS, construct=LABEL, extra="dax")
    paths = {path for path, _ in content.files.files}
    assert {"python/amazondax/__init__.py", "python/antlr4/__init__.py", "python/six.py"} <= paths
    assert "python/amazon_dax_client-2.1.0.dist-info/licenses/NOTICE.txt" in paths
    assert not [p for p in paths if p.endswith((".pyc", "/RECORD", "/INSTALLER", "/REQUESTED"))]


def test_pipeline_fails_before_defining_anything_without_the_dax_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    absent = PinnedDistribution(name="dbpatterns-test-not-installed", version="1.0", code_sha256="0" * 64)
    monkeypatch.setattr(pipeline, "DAX_CLIENT_DISTRIBUTIONS", (absent,))
    stack = Stack(new_app(), "NoDax", env=Environment(account="123456789012", region="us-east-1"))
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["a", "b"], isolated_subnet_ids=["s-1", "s-2"]
    )
    with pytest.raises(DependencyError, match=r"FlashSaleOrderPipeline 'NoDax/Orders': .*dbpatterns\[dax\]"):
        FlashSaleOrderPipeline(
            stack,
            "Orders",
            FlashSaleOrderPipelineProps(
                profile=DeploymentProfile.SANDBOX,
                vpc=vpc,
                account_cloud_watch_role=AccountCloudWatchRole.MANAGED_ELSEWHERE,
            ),
        )
    assert [child.node.id for child in stack.node.children] == ["Vpc"]
