"""The closing line of `.ci/run`: tier-2 tests per conda, failing on any skip but a version gate.

python .ci/tier2_summary.py REPORT.json...   (written by pytest --tier2-report)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

#: How a tier-2 test may end without being a skip ("gated": it needs another conda version).
ENDINGS = ("passed", "failed", "gated")


def summarize(reports: list[Path]) -> tuple[str, bool]:
    """The summary line and whether CI may pass: every report there, no failure, no skip."""
    parts, problems = [], []
    for path in reports:
        if not path.is_file():
            problems.append(f"{path.name} missing (pytest ended before its summary)")
            continue
        document = json.loads(path.read_text())
        outcomes: dict[str, str] = document["outcomes"]
        kinds = Counter(o if o in ENDINGS else "skipped" for o in outcomes.values())
        part = f"conda {document['conda']}: {document['tests']} tests, {kinds['passed']} passed"
        if kinds["gated"]:
            part += f", {kinds['gated']} for another conda version"
        parts.append(part)
        if kinds["failed"]:
            problems.append(f"{kinds['failed']} failed on conda {document['conda']}")
        skips = [f"{test} ({why})" for test, why in outcomes.items() if why not in ENDINGS]
        if skips:
            problems.append(f"skipped on conda {document['conda']}: {'; '.join(skips)}")
    line = "tier 2: " + "; ".join(parts)
    if problems:
        return f"{line}. CI fails: {'; '.join(problems)}", False
    return f"{line}; no tier-2 test skipped", True


def main(argv: list[str]) -> int:
    line, ok = summarize([Path(arg) for arg in argv])
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
