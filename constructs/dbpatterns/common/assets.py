"""Lambda code assets made of an exact list of files, staged without Docker, pip or temp folders.

CDK copies a plain ``Code.from_asset(folder)`` from that folder, so code assembled from several places
(part of a package, files of installed distributions) would need a staging folder of our own, left in
the temp directory after every synth. Instead the asset uses *local bundling*: CDK hands us its own
staging folder inside the cloud assembly (``cdk.out``) and we copy the files straight into it.

The asset hash is a digest of the files' paths and contents, computed before CDK stages anything, so it
changes exactly when a file changes: the same files give the same hash in every run and on every machine.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

#: Never pulled: local bundling always succeeds or raises, so CDK never falls back to Docker.
_NO_DOCKER_IMAGE = "dbpatterns/local-bundling-only"
#: Lambda runs code as another user than the owner of the files: they must be world-readable.
_FILE_MODE, _DIRECTORY_MODE = 0o644, 0o755


@dataclass(frozen=True)
class AssetFiles:
    """The files of one asset: ``(path inside the asset, source file)`` pairs, and their digest."""

    files: tuple[tuple[str, Path], ...]
    #: sha256 over every file's asset path and sha256 content hash, in path order.
    digest: str

    @classmethod
    def of(cls, files: Iterable[tuple[str, Path]]) -> AssetFiles:
        """Hash ``files`` (read once, now) and keep them in path order."""
        ordered = tuple(sorted(files))
        paths = [path for path, _ in ordered]
        if len(set(paths)) != len(paths):
            raise ValueError(f"AssetFiles: duplicate paths in {paths}")
        digest = hashlib.sha256()
        for path, source in ordered:
            digest.update(f"{path}\0{sha256_of(source)}\n".encode())
        return cls(files=ordered, digest=digest.hexdigest())

    def code(self) -> lambda_.AssetCode:
        """A Lambda asset (function code or layer content) holding exactly these files."""
        return lambda_.Code.from_asset(
            # Required by the API but never read: the files come from the bundler below, and the hash
            # from the digest. A folder that exists wherever the library is installed.
            str(Path(__file__).resolve().parent),
            asset_hash=self.digest,
            asset_hash_type=AssetHashType.CUSTOM,
            bundling=BundlingOptions(
                image=DockerImage.from_registry(_NO_DOCKER_IMAGE), local=_CopyFiles(self.files)
            ),
        )


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's content."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@jsii.implements(ILocalBundling)
class _CopyFiles:
    """Copies the files into the staging folder CDK gives (inside the cloud assembly)."""

    def __init__(self, files: tuple[tuple[str, Path], ...]) -> None:
        self._files = files

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        root = Path(output_dir)
        for path, source in self._files:
            target = root / path
            for folder in reversed(target.relative_to(root).parents[:-1]):
                (root / folder).mkdir(mode=_DIRECTORY_MODE, exist_ok=True)
                (root / folder).chmod(_DIRECTORY_MODE)
            shutil.copyfile(source, target)
            target.chmod(_FILE_MODE)
        return True
