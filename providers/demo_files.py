"""The command line of the simulated estates (``python -m providers.<cloud>.simulated``): write the
recorded demo estate shipped in the package, or check that the shipped file is current.

Standard library only: the simulators import nothing else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path


def demo_file_main(
    module: str, cloud: str, demo_file: Path, render: Callable[[], str], argv: Sequence[str] | None = None
) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {module}",
        description=f"Regenerate (or check) the recorded {cloud} demo estate shipped with keyaudit.",
    )
    parser.add_argument("--write-demo", action="store_true", help=f"write {demo_file.name}")
    parser.add_argument("--check-demo", action="store_true", help=f"exit 1 if {demo_file.name} is stale")
    parser.add_argument("--output", type=Path, default=demo_file, help="where the demo estate lives")
    args = parser.parse_args(argv)
    if not (args.write_demo or args.check_demo):
        parser.error("nothing to do: pass --write-demo or --check-demo")
    text = render()
    if args.check_demo:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else None
        if current != text:
            print(f"{args.output} is stale: run python -m {module} --write-demo", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text, encoding="utf-8")
    return 0
