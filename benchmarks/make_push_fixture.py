"""Regenerate benchmarks/fixtures/push.json from the recorded GitHub webhook examples.

The ingest benchmark POSTs the fixture's bytes verbatim as the request body, so
the fixture is written compactly (the way github.com sends JSON) and the
benchmark never needs ../shared. Run once, by hand, only to refresh the fixture:

    .venv/bin/python benchmarks/make_push_fixture.py \
        [--examples ../shared/github/webhook-examples.json]

It picks the first `push` example that is a branch push from an App installation
with at least one commit, which is what Deckhand sees most often.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_EXAMPLES = HERE.parent.parent / "shared" / "github" / "webhook-examples.json"
FIXTURE = HERE / "fixtures" / "push.json"


def pick_push(examples: list[dict]) -> dict:
    for group in examples:
        if group.get("name") != "push":
            continue
        for payload in group.get("examples", []):
            if (
                str(payload.get("ref", "")).startswith("refs/heads/")
                and "installation" in payload
                and payload.get("commits")
            ):
                return payload
    raise SystemExit("no branch push example with an installation and commits found")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=DEFAULT_EXAMPLES)
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args()
    examples = json.loads(args.examples.read_text(encoding="utf-8"))
    payload = pick_push(examples)
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(body)
    print(f"wrote {args.out} ({len(body)} bytes, ref {payload['ref']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
