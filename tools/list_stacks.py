"""Print the stacks `cdk synth` wrote into cdk.out/ (used by `make synth`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(out_dir: str = "cdk.out") -> int:
    manifest = json.loads((Path(out_dir) / "manifest.json").read_text())
    stacks = sorted(
        (name, artifact)
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    )
    for name, artifact in stacks:
        print(f"{name:40} {out_dir}/{artifact['properties']['templateFile']:55} {artifact['environment']}")
    print(f"{len(stacks)} stacks synthesized into {out_dir}/")
    return 0 if stacks else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
