"""Does the leak matrix notice when a rule goes? Remove each rule in turn and run the matrix.

Each mutation below is a small edit of the app's source (one line, or one line at each place a
rule is enforced twice) that removes one rule of who sees what. For each, the project is copied
into a temporary folder, the edit applied there (the working tree is never touched), and
``tests/test_leak_matrix.py`` run on the copy; the rule is caught when the matrix fails.

    python tests/leak_matrix_mutations.py                  # every mutation, on SQLite
    python tests/leak_matrix_mutations.py --database postgresql
    python tests/leak_matrix_mutations.py --list
    python tests/leak_matrix_mutations.py NAME...          # only these

An edit whose text is no longer found in the source is reported as such ("stale"): the rule
moved, and this list must follow it. The matrix's strict expected failures
(``KNOWN_LEAKS``) would name a rule main does not have yet; there are none today.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FILTERING = "ocenter/display/filtering.py"
AGGREGATION = "ocenter/display/aggregation.py"
CONTRACTS = "ocenter/contracts/model.py"
LOGIN = "ocenter/accounts/login.py"
#: The lines of ``can_view`` that decide for a central unit's and a UPT region's viewers.
UNIT_RULE = "return spec.owner_unit == viewer.unit_code or viewer.tier in spec.audience"
UPT_RULE = "return Tier.KEPALA_UPT in spec.audience and viewer.tier in spec.audience"


@dataclass(frozen=True)
class Mutation:
    """One rule removed: ``(file, text, replacement)`` edits, each text found exactly once."""

    name: str
    rule: str
    edits: tuple[tuple[str, str, str], ...]


MUTATIONS = (
    Mutation("can-view-clearance", "a dashboard above the viewer's clearance is not opened",
             ((FILTERING, "    if not viewer.may_see_level(spec.level):\n        return False",
               "    if False:\n        return False"),)),
    Mutation("can-view-grant", "a dashboard granted by id is opened",
             ((FILTERING, "if spec.id in viewer.grants or viewer.scope == ScopeKind.BPOM:",
               "if viewer.scope == ScopeKind.BPOM:"),)),
    Mutation("grant-end-date", "a grant counts only on the days before its end",
             ((LOGIN, "            DashboardGrant.expires_on > on_day,\n", ""),)),
    Mutation("grant-revoked", "a revoked grant counts no more",
             ((LOGIN, "            col(DashboardGrant.revoked_at).is_(None),\n", ""),)),
    Mutation("can-view-unit-scope", "a central unit sees its own dashboards and those for its tier",
             ((FILTERING, UNIT_RULE, "return True"),)),
    Mutation("can-view-unit-tier", "a central unit's viewer needs their own tier named, not any "
             "central unit's",
             ((FILTERING, UNIT_RULE, "return spec.owner_unit == viewer.unit_code or bool("
               "{Tier.ESELON_2, Tier.UNIT_STAFF} & set(spec.audience))"),)),
    Mutation("can-view-upt-scope", "a UPT region sees only dashboards whose audience names it",
             ((FILTERING, UPT_RULE, "return True"),)),
    Mutation("can-view-upt-kepala-upt", "a UPT region's viewer needs Kepala UPT named too",
             ((FILTERING, UPT_RULE, "return viewer.tier in spec.audience"),)),
    Mutation("can-view-upt-own-tier", "a UPT region's viewer needs their own tier named too",
             ((FILTERING, UPT_RULE, "return Tier.KEPALA_UPT in spec.audience"),)),
    Mutation("can-view-grant-scope", "an authorised party sees only what is granted",
             ((FILTERING, f"        {UPT_RULE}\n    return False",
               f"        {UPT_RULE}\n    return True"),)),
    Mutation("can-view-grant-audience", "an authorised party sees only what is granted, whatever "
             "the audience names",
             ((FILTERING, f"        {UPT_RULE}\n    return False",
               f"        {UPT_RULE}\n    return viewer.tier in spec.audience"),)),
    Mutation("grants-page-clearance", "granters see only dashboards within their clearance",
             (("ocenter/accounts/grants.py",
               "return spec is not None and actor.may_see_level(spec.level)",
               "return spec is not None"),)),
    Mutation("upt-row-filter", "a UPT viewer receives only its own UPT's rows",
             ((FILTERING, "frame = frame[frame[scope_field] == viewer.unit_code]",
               "frame = frame"),)),
    Mutation("field-masking-rows", "fields above the clearance are dropped from the rows",
             ((FILTERING, "if viewer.may_see_level(contract.highest_level([name]))",
               "if True"),)),
    Mutation("field-masking-panels", "a panel on a field above the clearance is restricted",
             ((AGGREGATION, "if not viewer.may_see_level(contract.highest_level(used)):",
               "if False:"),)),
    Mutation("field-masking", "fields above the clearance never reach the viewer (both places)",
             ((FILTERING, "if viewer.may_see_level(contract.highest_level([name]))", "if True"),
              (AGGREGATION, "if not viewer.may_see_level(contract.highest_level(used)):",
               "if False:"))),
    Mutation("field-levels", "a field's own level counts, not only its dataset's",
             ((CONTRACTS, "return highest([self.level, *(f.level for f in chosen)])",
               "return self.level"),)),
    Mutation("dataset-cut-rows", "below the dataset's level the rows are empty",
             ((FILTERING, "    if not viewer.may_see_level(contract.level):\n        return pd.DataFrame()",
               "    if False:\n        return pd.DataFrame()"),)),
    Mutation("dataset-cut", "below the dataset's level nothing reaches the viewer (both places)",
             ((FILTERING, "    if not viewer.may_see_level(contract.level):\n        return pd.DataFrame()",
               "    if False:\n        return pd.DataFrame()"),
              (CONTRACTS, "return highest([self.level, *(f.level for f in chosen)])",
               "return highest([f.level for f in chosen])"))),
    Mutation("request-concerned", "a unit lists only its own requests (title withholding)",
             (("ocenter/procedure/requests.py",
               "if actor.role not in PUSDATIN_ROLES and actor.scope != ScopeKind.BPOM:",
               "if False:"),)),
    Mutation("report-masking", "a verification report masks values above the clearance",
             (("ocenter/verification/report.py",
               "e if clearance.allows(e.level) else e.model_copy(update={\"value\": MASK})",
               "e"),)),
    Mutation("submissions-own-unit", "a sender lists only its own unit's submissions",
             (("ocenter/procedure/data_intake.py",
               "            query = query.where(Submission.unit_code == (actor.unit_code or \"\"))\n"
               "        if status is not None:",
               "            pass\n        if status is not None:"),)),
    Mutation("failing-rows-unit-check", "the failing rows go only to the sending unit (download)",
             (("ocenter/procedure/data_intake.py",
               "if actor.role not in PUSDATIN_ROLES and submission.unit_code != actor.unit_code:",
               "if False:"),)),
    Mutation("failing-rows-own-unit", "the failing rows go only to the sending unit (both places)",
             (("ocenter/procedure/data_intake.py",
               "            query = query.where(Submission.unit_code == (actor.unit_code or \"\"))\n"
               "        if status is not None:",
               "            pass\n        if status is not None:"),
              ("ocenter/procedure/data_intake.py",
               "if actor.role not in PUSDATIN_ROLES and submission.unit_code != actor.unit_code:",
               "if False:"))),
    Mutation("request-level", "a request's title and purpose are read only within its level",
             (("ocenter/accounts/visibility.py",
               "    if viewer.may_see_level(request.level):\n        return RequestView.FULL",
               "    if True:\n        return RequestView.FULL"),)),
    Mutation("values-by-dataset-level", "a quoted value counts its dataset's level too "
             "(report and failing rows)",
             (("ocenter/verification/report.py",
               "return clearance.allows(highest([field_level, dataset_level]))",
               "return clearance.allows(field_level)"),)),
    Mutation("review-diff-own-spec", "the review's diff is the request's own spec alone",
             (("ocenter/procedure/mockup_review.py",
               "return ctx.store.mockup_diff(request_id, reviewed_commit, spec_path(request.dashboard_id))",
               "return ctx.store.mockup_diff(request_id, reviewed_commit)"),)),
    Mutation("preview-main-levels", "a mock-up is previewed by the contracts on main",
             (("ocenter/procedure/mockup_review.py",
               'return {**ctx.store.snapshot(rev).contracts, **ctx.store.snapshot("main").contracts}',
               'return {**ctx.store.snapshot("main").contracts, **ctx.store.snapshot(rev).contracts}'),)),
    Mutation("deactivated-out", "a deactivated user's session is refused (three places: "
             "deactivating ends it, and each page run checks the user)",
             (("ocenter/accounts/admin.py",
               'ended = end_sessions_of(session, username, "deactivated", ctx.clock.now())',
               "ended = 0"),
              ("ocenter/accounts/sessions.py", "if user is None or not user.active:",
               "if user is None:"),
              (LOGIN, "return user.active and not (production and user.is_demo)",
               "return not (production and user.is_demo)"))),
)


def project_files() -> list[str]:
    """The project's files as git sees them (tracked, and new ones not ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=PROJECT_ROOT, capture_output=True, check=True,
    ).stdout.decode("utf-8")
    return [name for name in listed.split("\0") if name and (PROJECT_ROOT / name).is_file()]


def copy_project(target: Path) -> None:
    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, destination)


def apply(mutation: Mutation, root: Path) -> str | None:
    """Apply the edits under ``root``; the reason it cannot be, or None."""
    for path, text, replacement in mutation.edits:
        source = (root / path).read_text(encoding="utf-8")
        if source.count(text) != 1:
            return f"stale: {path} holds the text {source.count(text)} times, not once"
        (root / path).write_text(source.replace(text, replacement), encoding="utf-8")
    return None


def run_matrix(root: Path, database: str) -> tuple[int, str]:
    marker = "postgres" if database == "postgresql" else "not postgres"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", marker,
         "tests/test_leak_matrix.py"],
        cwd=root, capture_output=True, text=True,
    )
    failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    return done.returncode, (failed[0] if failed else summary)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the run of the unchanged project")
    args = parser.parse_args()
    if args.list:
        for mutation in MUTATIONS:
            print(f"{mutation.name:24} {mutation.rule}")
        return 0
    unknown = set(args.names) - {m.name for m in MUTATIONS}
    if unknown:
        parser.error(f"unknown mutations: {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    missed = 0
    with tempfile.TemporaryDirectory(prefix="leak-mutations-") as folder:
        if not args.no_baseline:
            started = time.monotonic()
            baseline = Path(folder) / "baseline"
            copy_project(baseline)
            code, summary = run_matrix(baseline, args.database)
            print(f"{'(unchanged)':24} {'passes' if code == 0 else 'FAILS'}  "
                  f"{time.monotonic() - started:5.0f} s  {summary}", flush=True)
            if code != 0:
                return 2
        for mutation in chosen:
            started = time.monotonic()
            root = Path(folder) / mutation.name
            copy_project(root)
            problem = apply(mutation, root)
            if problem is not None:
                print(f"{mutation.name:24} {problem}", flush=True)
                missed += 1
                continue
            code, summary = run_matrix(root, args.database)
            verdict = "caught" if code == 1 else "MISSED" if code == 0 else f"error {code}"
            missed += verdict != "caught"
            print(f"{mutation.name:24} {verdict:7} {time.monotonic() - started:5.0f} s  {summary}",
                  flush=True)
            shutil.rmtree(root, ignore_errors=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
