"""Where a py-spy profile's samples went: inclusive shares of the frames that matter for an ack.

    .venv/bin/python bench/run.py --profile /tmp/prof --profile-phase ack --profiler py-spy ...
    .venv/bin/python bench/spy_shares.py /tmp/prof.sqlite.raw [--under 'FeishuWebhook._handle ']

Reads py-spy's collapsed stacks (`--format raw`: one stack per line, frames joined by `;`, the
sample count last). Only the event loop's thread counts (stacks through `serve (run.py`): the
others are the database driver's and executors' threads, idle nearly always. Prints each named
part's share of that thread's samples (a sample counts for every part on its stack, so parts
nest and the column does not sum to 100 %), and with --under the direct children of one frame.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

# What an ack and the work beside it are made of: (label, a substring of the frame).
PARTS = (
    ("aiohttp: one request", "RequestHandler._handle_request "),
    ("  the Feishu webhook", "FeishuWebhook._handle "),
    ("    read the body", "FeishuWebhook._read "),
    ("    decrypt", "FeishuWebhook._open_envelope "),
    ("    verify the signature", "FeishuWebhook._verify "),
    ("    parse the event", "parse_payload "),
    ("    store it (the ack)", "Pipeline._record "),
    ("      event to JSON-ready dict", "event_to_dict "),
    ("aiohttp: bytes in", "RequestHandler.data_received "),
    ("the group commit's flush", "GroupCommit._run "),
    ("processing messages", "Pipeline._process_message "),
    ("processing clicks", "Pipeline._process_click"),
    ("delivery", "DeliveryWorker."),
    ("the garbage collector", "gc_collect"),
)


def load(path: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        if any(frame.startswith("serve (") for frame in frames):
            stacks.append((frames, int(count)))
    return stacks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path)
    parser.add_argument("--under", default="", help="also list the direct children of this frame")
    args = parser.parse_args()
    stacks = load(args.raw)
    total = sum(count for _, count in stacks)
    if not total:
        raise SystemExit("no samples of the event loop's thread")
    print(f"{total} samples of the event loop's thread\n\n| part | samples | share |\n|---|---|---|")
    for label, needle in PARTS:
        count = sum(n for frames, n in stacks if any(needle in frame for frame in frames))
        print(f"| {label} | {count} | {100 * count / total:.1f}% |")
    if args.under:
        children: Counter[str] = Counter()
        for frames, n in stacks:
            at = next((i for i, frame in enumerate(frames) if args.under in frame), None)
            if at is not None:
                children[frames[at + 1] if at + 1 < len(frames) else "(itself)"] += n
        print(f"\nunder {args.under!r}: {sum(children.values())} samples")
        for child, n in children.most_common(25):
            print(f"  {n:6d}  {child}")


if __name__ == "__main__":
    main()
