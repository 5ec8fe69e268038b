"""Check the survivors of a mutation sample again, by hand, against today's code and tests.

mutmut checks a mutant of the code it copied when its run began. After tests are written for the
survivors, and the code has moved on, ``rechecked.json`` lists each survivor's change as text
(``old`` -> ``new`` in ``file``, as ``python -m mutmut show NAME`` printed it) with the tests
written for it. This script makes each change in the working tree, one at a time, runs those tests,
says KILLED or SURVIVED, and puts the file back (also when interrupted).

    python tests/mutation/recheck.py [tests/mutation/rechecked.json]

Run it on a clean checkout: it edits files under ocenter/ while it runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    listing = Path(argv[0]) if argv else Path(__file__).with_name("rechecked.json")
    survived = 0
    for entry in json.loads(listing.read_text(encoding="utf-8")):
        path = ROOT / entry["file"]
        original = path.read_text(encoding="utf-8")
        if original.count(entry["old"]) != 1:
            print(f"CHANGED  {entry['mutant']}: the code it mutates is no longer there once")
            survived += 1
            continue
        path.write_text(original.replace(entry["old"], entry["new"]), encoding="utf-8")
        try:
            run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                  *entry["tests"]], cwd=ROOT, capture_output=True, text=True, check=False)
        finally:
            path.write_text(original, encoding="utf-8")
        killed = run.returncode == 1  # a test failed (5: none ran; 2-4: pytest itself failed)
        survived += not killed
        print(f"{'KILLED  ' if killed else 'SURVIVED'} {entry['mutant']}  ({' '.join(entry['tests'])})")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
