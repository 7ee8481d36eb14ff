"""``make diagrams``: synthesize the production app, write docs/diagrams/<stack>.dot and render SVGs."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from aws_cdk import App

from dbpatterns.common.profile import DeploymentProfile
from dbpatterns.runtime.tenancy.catalog import load_catalog
from stacks.app_builder import build_stacks
from stacks.config import AppConfig
from tools.diagrams.dot import diagram_sources
from tools.diagrams.sources import StackSource, stack_sources

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT_DIR = REPO_ROOT / "docs" / "diagrams"
#: The SVG carries the SHA-256 of the DOT text it was rendered from, so a test can tell that both match.
SVG_SOURCE_MARK = "dot-source-sha256"


def production_app_sources() -> list[StackSource]:
    """Synthesize the app as ``cdk synth -c profile=production`` would (no cdk-nag, which adds nothing
    to the templates) in a temporary folder, and read it."""
    context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
    with tempfile.TemporaryDirectory(prefix="cdk-diagrams-") as out_dir:
        app = App(context=context, outdir=out_dir, builtin_cloud_formation_validation=False)
        build_stacks(
            app, AppConfig(profile=DeploymentProfile.PRODUCTION), load_catalog(REPO_ROOT / "tenants.json")
        )
        return stack_sources(app)


def dot_digest(dot_text: str) -> str:
    return hashlib.sha256(dot_text.encode()).hexdigest()


def render_svg(dot_text: str, dot_binary: str) -> str:
    """The SVG Graphviz draws from ``dot_text``, marked with the digest of its source."""
    svg = subprocess.run(  # noqa: S603 - a fixed binary found on PATH, our own input on stdin
        [dot_binary, "-Tsvg"], input=dot_text, capture_output=True, text=True, check=True
    ).stdout
    mark = f"<!-- {SVG_SOURCE_MARK}: {dot_digest(dot_text)} -->\n"
    head, separator, rest = svg.partition("<svg")
    return head + mark + separator + rest


def write_diagrams(dots: Mapping[str, str], out_dir: Path, *, svg: bool) -> list[Path]:
    """Write ``<stack>.dot`` (and ``.svg``) for each diagram and remove those of stacks that are gone."""
    dot_binary = shutil.which("dot") if svg else None
    if svg and dot_binary is None:
        raise SystemExit(
            "Graphviz's `dot` is not installed (Debian/Ubuntu: apt-get install graphviz); "
            "run with --no-svg to write only the DOT files"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in sorted(out_dir.glob("*.dot")) + sorted(out_dir.glob("*.svg")):
        if stale.stem not in dots:
            stale.unlink()
    written = []
    for name, dot_text in sorted(dots.items()):
        dot_path = out_dir / f"{name}.dot"
        dot_path.write_text(dot_text)
        written.append(dot_path)
        if dot_binary:
            svg_path = out_dir / f"{name}.svg"
            svg_path.write_text(render_svg(dot_text, dot_binary))
            written.append(svg_path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", nargs="?", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--no-svg", action="store_true", help="write the DOT files only (no Graphviz needed)")
    args = parser.parse_args(argv)
    dots = diagram_sources(production_app_sources())
    for path in write_diagrams(dots, args.out_dir, svg=not args.no_svg):
        print(path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path)
    return 0
