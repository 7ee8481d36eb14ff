"""Lambda layers copied from Python distributions installed next to this library, verified at synth.

A layer here is never built by calling pip during synth (that needs network, pip inside the
interpreter and leaves folders in the temp directory). The distributions are *installed with the
library*, as one of its extras (``pip install "dbpatterns[dax]"``), and the layer is copied from their
installed files:

- the installed version must be the pinned one;
- every file listed in the distribution's ``RECORD`` (the list pip writes at install time, with a
  sha256 per file) must still match its hash;
- the importable files (everything outside ``*.dist-info``) must match a digest pinned in this
  library, so a locally patched or rebuilt copy of the same version is refused.

Only pure-Python distributions belong here: their files work on any Lambda architecture. The layer
holds the files under ``python/`` (where Lambda's Python runtimes look), with each distribution's
``dist-info`` (metadata and licence files) but without pip's install records (``INSTALLER``,
``REQUESTED``, ``direct_url.json``), byte-code or console scripts.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.metadata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dbpatterns.common.assets import AssetFiles
from dbpatterns.errors import DependencyError

#: Files pip writes about one particular installation: left out of layers (and of the asset hash).
_INSTALL_RECORDS = frozenset({"INSTALLER", "REQUESTED", "direct_url.json", "RECORD"})


@dataclass(frozen=True, kw_only=True)
class PinnedDistribution:
    """A distribution a layer is copied from, pinned by version and by content."""

    #: Name on PyPI, e.g. ``amazon-dax-client``.
    name: str
    #: The one version accepted, e.g. ``2.1.0``.
    version: str
    #: :func:`code_digest` of the version's importable files as pip installs them.
    code_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class _InstalledFile:
    path: str  # relative to site-packages, as in RECORD
    source: Path
    sha256: str  # hex

    @property
    def is_metadata(self) -> bool:
        return ".dist-info/" in self.path


def code_digest(files: Sequence[tuple[str, str]]) -> str:
    """sha256 over ``(path, hex sha256)`` of a distribution's importable files, in path order."""
    digest = hashlib.sha256()
    for path, sha in sorted(files):
        digest.update(f"{path}\0{sha}\n".encode())
    return digest.hexdigest()


def _install_hint(extra: str) -> str:
    return f'install the library with its "{extra}" extra: pip install "dbpatterns[{extra}]"'


def _installed_files(pin: PinnedDistribution, *, construct: str, extra: str) -> list[_InstalledFile]:
    """The verified files of ``pin`` in this environment, or :class:`DependencyError`."""
    try:
        dist = importlib.metadata.distribution(pin.name)
    except importlib.metadata.PackageNotFoundError:
        raise DependencyError(
            f"{construct}: its Lambda layer is copied from the installed {pin.requirement}, which is not "
            f"installed in this environment; {_install_hint(extra)}"
        ) from None
    if dist.version != pin.version:
        raise DependencyError(
            f"{construct}: its Lambda layer needs {pin.requirement} but {pin.name} {dist.version} is "
            f"installed; {_install_hint(extra)} (it pins {pin.requirement})"
        )
    root = Path(str(dist.locate_file(""))).resolve()
    files: list[_InstalledFile] = []
    for entry in dist.files or ():
        if entry.hash is None or entry.hash.mode != "sha256":
            continue  # RECORD itself and byte-code compiled at install time carry no hash
        source = Path(str(dist.locate_file(entry))).resolve()
        if not source.is_relative_to(root) or source.name in _INSTALL_RECORDS:
            continue  # console scripts live outside site-packages; install records vary per install
        if not source.is_file():
            raise DependencyError(
                f"{construct}: {pin.requirement} is damaged: {entry} is listed in its RECORD but missing; "
                f"reinstall it: pip install --force-reinstall {pin.requirement}"
            )
        content = source.read_bytes()
        recorded = base64.urlsafe_b64decode(entry.hash.value + "=" * (-len(entry.hash.value) % 4))
        if hashlib.sha256(content).digest() != recorded:
            raise DependencyError(
                f"{construct}: {pin.requirement} was changed after installation: {entry} does not match "
                f"the sha256 in its RECORD; reinstall it: pip install --force-reinstall {pin.requirement}"
            )
        files.append(_InstalledFile(str(entry), source, hashlib.sha256(content).hexdigest()))
    found = code_digest([(f.path, f.sha256) for f in files if not f.is_metadata])
    if found != pin.code_sha256:
        raise DependencyError(
            f"{construct}: the installed {pin.requirement} is not the pinned build (code digest {found}, "
            f"pinned {pin.code_sha256}); reinstall it from PyPI: pip install --force-reinstall "
            f"--no-cache-dir {pin.requirement}"
        )
    return files


@functools.cache
def _verified(pins: tuple[PinnedDistribution, ...], construct: str, extra: str) -> AssetFiles:
    files = [f for pin in pins for f in _installed_files(pin, construct=construct, extra=extra)]
    return AssetFiles.of((f"python/{f.path}", f.source) for f in files)


@dataclass(frozen=True)
class VerifiedLayerContent:
    """Files of pinned distributions, checked; :meth:`layer` turns them into a ``LayerVersion``."""

    files: AssetFiles

    @classmethod
    def of(cls, pins: Sequence[PinnedDistribution], *, construct: str, extra: str) -> VerifiedLayerContent:
        """Check ``pins`` against what is installed (raises :class:`DependencyError`); cached per process.

        Call it while validating props, before the construct defines any child. ``construct`` is the
        label errors start with; ``extra`` is the library extra that installs the pins.
        """
        return cls(_verified(tuple(pins), construct, extra))

    def layer(
        self,
        scope: Construct,
        construct_id: str,
        *,
        description: str,
        compatible_runtimes: Sequence[lambda_.Runtime],
    ) -> lambda_.LayerVersion:
        """The layer; its asset hash changes only when a pinned file does."""
        return lambda_.LayerVersion(
            scope,
            construct_id,
            code=self.files.code(),
            description=description,
            compatible_runtimes=list(compatible_runtimes),
        )
