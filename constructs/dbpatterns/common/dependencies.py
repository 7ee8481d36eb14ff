"""Lambda layers of pure-Python packages that the Lambda runtime lacks, built without Docker."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from dbpatterns.common.validation import PropValidationError

_PINNED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9.+!-]+$")


@functools.cache
def _installed(requirements: tuple[str, ...]) -> str:
    """``pip install --target`` the pinned requirements once per process; returns the layer folder.

    Only pure-Python packages belong here: they are installed for this machine's Python and copied
    as they are, which is right for any Lambda architecture. ``--no-deps`` keeps the layer to exactly
    what is pinned (boto3/botocore come with the runtime).
    """
    root = Path(tempfile.mkdtemp(prefix="dbpatterns-layer-"))
    subprocess.run(  # noqa: S603 - fixed argv: this interpreter's pip and pinned package names
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--target",
            str(root / "python"),
            *requirements,
        ],
        check=True,
    )
    return str(root)


def pure_python_layer(
    scope: Construct,
    construct_id: str,
    *,
    requirements: Sequence[str],
    description: str,
    compatible_runtimes: Sequence[lambda_.Runtime],
) -> lambda_.LayerVersion:
    """A layer with exactly ``requirements`` (each pinned ``name==version``), installed from PyPI at synth.

    The asset hash comes from the installed files, so the layer changes only when a pin changes.
    """
    for requirement in requirements:
        if not _PINNED.match(requirement):
            raise PropValidationError(
                "pure_python_layer",
                "requirements",
                requirement,
                "allowed: pinned requirements such as 'six==1.17.0'",
            )
    return lambda_.LayerVersion(
        scope,
        construct_id,
        code=lambda_.Code.from_asset(_installed(tuple(requirements))),
        description=description,
        compatible_runtimes=list(compatible_runtimes),
    )
