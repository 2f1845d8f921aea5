"""Where a profiled phase's CPU went, by library and by function (issue 7).

    .venv/bin/python bench/run.py --postgres-only --profile /tmp/prof/run --profile-phase e2e
    .venv/bin/python bench/profile_libs.py /tmp/prof/run.postgres.pyisession

The call tree that `--profile` writes splits SQLAlchemy's work off into separate roots (it runs
in greenlets), so its share is hard to read there. This adds up each frame's own time by the
package it belongs to (sqlalchemy, asyncpg, aiohttp, ... and the project's top-level modules),
then lists the functions with the most own time. The profiler's overhead weighs on pure-Python
code more than on C, so shares are a guide to where to look, not a measurement of a change.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

from pyinstrument.frame import Frame
from pyinstrument.session import Session

PROJECT = str(Path(__file__).resolve().parents[1]) + "/"


def package(path: str | None) -> str:
    """sqlalchemy, asyncpg, ... for installed code; bot/pipeline.py and the like for ours."""
    if not path:
        return "(interpreter)"
    if "site-packages/" in path:  # before the project's own: the venv may live inside it
        return path.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if path.startswith(PROJECT):
        parts = Path(path[len(PROJECT):]).parts
        return "/".join(parts[:2])
    if path.startswith("<"):
        return path
    return "stdlib:" + Path(path).parts[-2 if Path(path).name == "__init__.py" else -1].removesuffix(".py")


def own_times(root: Frame) -> tuple[dict[str, float], dict[str, float]]:
    by_package: dict[str, float] = defaultdict(float)
    by_function: dict[str, float] = defaultdict(float)

    def walk(frame: Frame, parent: Frame | None) -> None:
        own = frame.time - sum(child.time for child in frame.children)
        # pyinstrument's "[self]" and "[await]" pseudo-frames are their parent's own time.
        owner = parent if parent is not None and frame.function.startswith("[") else frame
        by_package[package(owner.file_path)] += own
        where = (owner.file_path or "").split("site-packages/")[-1].removeprefix(PROJECT)
        by_function[f"{owner.function}  {where}:{owner.line_no}"] += own
        for child in frame.children:
            walk(child, frame)

    walk(root, None)
    return by_package, by_function


def _largest(seconds: dict[str, float], n: int) -> list[tuple[str, float]]:
    return sorted(seconds.items(), key=lambda item: item[1], reverse=True)[:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("session", help="a .pyisession file written by bench/run.py --profile")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    root = Session.load(args.session).root_frame()
    if root is None:
        sys.exit("the profile is empty")
    by_package, by_function = own_times(root)
    total = root.time
    print(f"{total:.2f} s profiled\n\n| package | own s | share |\n|---|---|---|")
    for name, seconds in _largest(by_package, args.top):
        print(f"| {name} | {seconds:.2f} | {seconds / total:.1%} |")
    print("\n| function | own s | share |\n|---|---|---|")
    for name, seconds in _largest(by_function, args.top):
        print(f"| {name} | {seconds:.2f} | {seconds / total:.1%} |")


if __name__ == "__main__":
    main()
