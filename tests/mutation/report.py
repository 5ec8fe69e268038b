"""Mutation score per rule module, and the surviving mutants, from mutmut's results in mutants/.

Run by ``tests/mutation/run.sh`` after ``mutmut run``; reads the ``.meta`` files mutmut writes
beside each mutated module. Mutants listed in ``equivalent.txt`` (each with why no test can tell
it from the original) are counted apart and left out of the adjusted score.
"""

from __future__ import annotations

import json
import math
import random
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# mutmut's exit-code meanings (mutmut.stats.status_by_exit_code): a failed test, an error in
# pytest, a timeout and a type-check failure all detect the mutant.
_KILLED = {1, 3, 36, 37, -24, 24, 152, 255}
_SURVIVED = {0}
_NO_TESTS = {5, 33}


def rule_modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["mutmut"]["only_mutate"]


def equivalent_mutants() -> dict[str, str]:
    """Mutant name -> why it is equivalent, from equivalent.txt (``name  # reason`` lines)."""
    reasons: dict[str, str] = {}
    for line in (Path(__file__).parent / "equivalent.txt").read_text(encoding="utf-8").splitlines():
        name, _, reason = line.partition("#")
        if name.strip():
            reasons[name.strip()] = reason.strip()
    return reasons


def results(module: str) -> dict[str, int | None]:
    """Exit code of each mutant of ``module`` (None: not checked yet)."""
    meta = ROOT / "mutants" / f"{module}.meta"
    if not meta.exists():
        return {}
    return json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]


def classify(code: int | None, name: str, equivalent: dict[str, str]) -> str:
    if code in _KILLED:
        return "killed"
    if code in _SURVIVED or code in _NO_TESTS:
        if name in equivalent:
            return "equivalent"
        return "survived" if code in _SURVIVED else "no tests"
    return "unchecked"


SAMPLE = ROOT / "mutants" / "sample.txt"


def draw_sample(size: int, seed: int) -> list[str]:
    """``size`` mutants drawn at random (``seed``) from every rule module's, kept in
    mutants/sample.txt so that the report counts those alone."""
    names = sorted(name for module in rule_modules() for name in results(module))
    drawn = sorted(random.Random(seed).sample(names, min(size, len(names))))
    SAMPLE.write_text("\n".join(drawn) + "\n", encoding="utf-8")
    return drawn


def wilson(killed: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson interval of a proportion ``killed``/``total`` (a sample's score)."""
    if not total:
        return 0.0, 1.0
    p = killed / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def main(argv: list[str]) -> int:
    if argv[:1] == ["--draw"]:  # --draw SIZE SEED: the names of a random sample, one a line
        print("\n".join(draw_sample(int(argv[1]), int(argv[2]))))
        return 0
    sampled = set(SAMPLE.read_text(encoding="utf-8").split()) if "--sample" in argv else None
    argv = [a for a in argv if a != "--sample"]
    equivalent = equivalent_mutants()
    seen: set[str] = set()
    survivors: list[str] = []
    totals: Counter[str] = Counter()
    rows = []
    for module in rule_modules():
        counts: Counter[str] = Counter()
        for name, code in sorted(results(module).items()):
            if sampled is not None and name not in sampled:
                continue
            seen.add(name)
            kind = classify(code, name, equivalent)
            counts[kind] += 1
            if kind in ("survived", "no tests"):
                survivors.append(name)
        counts["total"] = sum(counts.values())
        totals.update(counts)
        rows.append(_row(module, counts))
    if argv == ["--names"]:  # the survivors, one a line, for run.sh --survivors
        print("\n".join(survivors))
        return 0
    print(f"{'module':40} {'mutants':>7} {'killed':>7} {'survived':>8} {'no test':>7} {'equiv':>5} "
          f"{'score':>6} {'adjusted':>8}")
    print("\n".join(rows))
    print(_row("all rule modules", totals))
    if sampled is not None:
        checked = totals["total"] - totals["equivalent"] - totals["unchecked"]
        low, high = wilson(totals["killed"], checked)
        unchecked = f", {totals['unchecked']} not checked yet" if totals["unchecked"] else ""
        print(f"\nA random sample of {len(sampled)} of the mutants ({checked} checked, "
              f"{totals['equivalent']} equivalent{unchecked}): adjusted score "
              f"{100 * totals['killed'] / max(checked, 1):.1f}% of those checked, 95% interval "
              f"{100 * low:.1f}%-{100 * high:.1f}% (Wilson)")
    if totals["unchecked"]:
        print(f"\n{totals['unchecked']} mutants not checked yet (run interrupted?): run again.")
    print(f"\nSurviving mutants ({len(survivors)}); see one with: python -m mutmut show NAME")
    for name in survivors:
        print(f"  {name}")
    stale = sorted(set(equivalent) - seen)
    if stale and seen:
        print("\nIn tests/mutation/equivalent.txt but no longer a mutant (its function changed): "
              "look again and update the list")
        for name in stale:
            print(f"  {name}")
    return 0


def _row(module: str, counts: Counter[str]) -> str:
    total, killed, equivalent = counts["total"], counts["killed"], counts["equivalent"]
    score = f"{100 * killed / total:.1f}%" if total else "-"
    adjusted = f"{100 * killed / (total - equivalent):.1f}%" if total - equivalent else "-"
    return (f"{module:40} {total:7} {killed:7} {counts['survived']:8} {counts['no tests']:7} "
            f"{equivalent:5} {score:>6} {adjusted:>8}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
