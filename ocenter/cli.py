"""The command line: ``python -m ocenter ...``, a thin layer over the same functions the pages use."""

from __future__ import annotations

import argparse
import contextlib
import gc
import getpass
import os
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from ocenter.errors import UserError

if TYPE_CHECKING:
    from ocenter.config import Settings
    from ocenter.context import AppContext

# Each command imports what it needs when it runs: ``verify`` starts reading its file before
# pyarrow's numpy, pydantic and the contract model load (see _cmd_verify), which importing the
# contract tools here would undo (0.3-0.4 s before the first byte was read).

#: How often threads hand the interpreter over during ``verify`` (Python's default: 5 ms).
_SWITCH_SECONDS = 0.0002


@contextlib.contextmanager
def _installation(settings: Settings | None = None) -> Iterator[AppContext]:
    """The installation the environment names (or ``settings``), opened for one command, its
    database connections closed after it."""
    from ocenter.config import load_settings
    from ocenter.context import open_context

    ctx = open_context(settings or load_settings())
    try:
        yield ctx
    finally:
        ctx.engine.dispose()


def _cmd_init(args: argparse.Namespace) -> int:
    from ocenter.bootstrap import initialise
    from ocenter.config import load_settings

    settings = load_settings()
    ctx = initialise(settings, demo=True if args.demo else None)
    print(f"OCenter ready in {ctx.home} ({settings.mode.value} mode)")
    print(f"  database: {settings.database_url.split('@')[-1]}")
    print(f"  store:    {settings.store_path}")
    print(f"  datasets: {ctx.bucket.describe() if ctx.bucket else ctx.home / 'datasets'}")
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    # The file is read from the start, on a thread: Arrow parses it on the second processor
    # while this one loads the contract machinery (pydantic, the engine), about a third of a
    # second that would otherwise leave that processor idle. Arrow's memory comes from the
    # lean pool from the first piece on; collection is paused as the engine does anyway.
    # numpy's BLAS (loaded with Arrow) would start a thread that spins on the second processor
    # for a while, waiting for matrix work this command never gives it. Threads hand the
    # interpreter over every 0.2 ms instead of 5: a thread coming back from Arrow or numpy
    # (many short calls) would otherwise wait for it while another runs Python.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    sys.setswitchinterval(_SWITCH_SECONDS)
    gc.disable()
    from ocenter.intake.csvfile import lean_memory, read_ahead

    with lean_memory():
        ahead = read_ahead(Path(args.data))
        from ocenter.verification.command import run_verify

        return run_verify(Path(args.contract), Path(args.data), Path(args.report) if args.report
                          else None, args.lang, ahead, args.schema)


def _cmd_validate_store(args: argparse.Namespace) -> int:
    from ocenter.store.validation import validate_store

    problems = validate_store(Path(args.path), args.rev)
    for problem in problems:
        print(f"{problem.path}: {problem.message}")
    if problems:
        files = len({p.path for p in problems})
        print(f"{files} file(s) broken", file=sys.stderr)
        return 1
    print("store is valid")
    return 0


def _cmd_contract(args: argparse.Namespace) -> int:
    import json

    from ocenter.contracts.inference import infer_contract
    from ocenter.contracts.json_schema import json_schema
    from ocenter.contracts.model import contract_from_yaml, contract_to_yaml
    from ocenter.contracts.odcs import contract_from_odcs, contract_to_odcs
    from ocenter.intake.read import read_table
    from ocenter.yamlfiles import read_yaml_file

    source = read_yaml_file(Path(args.file)) if args.action != "infer" else ""
    if args.action == "import-odcs":
        output = contract_to_yaml(contract_from_odcs(source, args.schema))
    elif args.action == "export-odcs":
        output = contract_to_odcs(contract_from_yaml(source))
    elif args.action == "json-schema":
        output = json.dumps(json_schema(contract_from_yaml(source)), indent=2)
    else:  # infer

        path = Path(args.file)
        table = read_table(path, path.suffix.lower(), None)
        dataset_id = args.id or "dataset-baru"
        output = contract_to_yaml(infer_contract(table, dataset_id, dataset_id,
                                                      args.owner or "PUSDATIN"))
    if args.output:
        Path(args.output).write_text(output, encoding="utf-8")
    else:
        print(output)
    return 0


def _cmd_user_add(args: argparse.Namespace) -> int:
    from ocenter.accounts.admin import add_user
    from ocenter.accounts.levels import Level, Role, ScopeKind

    with _installation() as ctx:
        password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass()
        add_user(ctx, None, username=args.username, name=args.name, role=Role(args.role),
                 clearance=Level(args.clearance), scope=ScopeKind(args.scope), unit_code=args.unit,
                 password=password, email=args.email or "")
    print(f"user {args.username} added")
    return 0


def _cmd_grant(args: argparse.Namespace) -> int:
    from ocenter.accounts import grants

    # The server's operator: actor None, logged as "cli", like user-add.
    with _installation() as ctx:
        if args.grant_command == "add":
            grant = grants.grant_dashboard(ctx, None, args.username, args.dashboard, args.reason,
                                           args.until)
            print(f"grant {grant.id}: {grant.dashboard_id} to {grant.username}, "
                  f"ends on {grant.expires_on.isoformat()}")
        elif args.grant_command == "revoke":
            grant = grants.revoke_grant(ctx, None, args.id, args.reason)
            print(f"grant {grant.id} revoked")
        else:  # list
            for entry in grants.list_grants(ctx, None, include_ended=args.all):
                print("\t".join([str(entry.id), entry.state.value, entry.username,
                                 entry.dashboard_id, entry.expires_on.isoformat(),
                                 entry.granted_by, _one_line(entry.reason)]))
        return 0


def _cmd_calendar(args: argparse.Namespace) -> int:
    from ocenter import procedure
    from ocenter.models import CalendarEntryKind

    # The server's operator: actor None, logged as "cli", like grant.
    with _installation() as ctx:
        procedure.seed_work_calendar(ctx)  # an installation not started since it was upgraded
        if args.calendar_command == "add":
            entry = procedure.add_calendar_entry(ctx, None, args.date, args.name, args.decree,
                                                 CalendarEntryKind(args.kind))
            print(f"{entry.day.isoformat()} {entry.kind.value} entered (entry {entry.id})")
        elif args.calendar_command == "remove":
            entry = procedure.remove_calendar_entry(ctx, None, args.date, args.reason)
            print(f"{entry.day.isoformat()} {entry.kind.value} removed (entry {entry.id})")
        else:  # list
            for day in procedure.calendar_year(ctx, None, args.year, include_removed=args.all,
                                               lang=args.lang):
                state = "in effect" if day.in_effect else "removed" if day.removed_at else "cancelled"
                fields = [day.day.isoformat(), day.day.strftime("%a"),
                          day.kind.value if day.kind else "national",
                          "database" if day.kind else "package", state, day.name, day.decree,
                          day.entered_by or ""]
                if args.all:
                    fields += [day.removed_by or "", day.remove_reason or ""]
                print("\t".join(_one_line(field) for field in fields))
        return 0


def _cmd_record(args: argparse.Namespace) -> int:
    from ocenter.accounts.authority import Authority
    from ocenter.accounts.levels import Level, Role, ScopeKind
    from ocenter.accounts.login import authority_of
    from ocenter.config import load_settings
    from ocenter.errors import PermissionDenied
    from ocenter.records import write_request_record

    settings = load_settings()
    with _installation(settings) as ctx:
        if args.as_user:
            actor = authority_of(ctx.engine, args.as_user, production=not settings.is_demo,
                                 today=ctx.clock.today())
            if actor is None:  # unknown, inactive, or a demo user in production: said alike
                raise PermissionDenied("record.not_allowed", request=args.request_id)
        else:
            # The server's operator, who holds the database and the store anyway: the whole record.
            actor = Authority(username="cli", role=Role.ANALIS, clearance=Level.SANGAT_RAHASIA,
                              scope=ScopeKind.BPOM)
        try:
            size = write_request_record(ctx, actor, args.request_id, Path(args.output))
        except OSError as error:  # a folder that does not exist, a full disk: said, no traceback
            print(f"error: cannot write {args.output}: {error.strerror or error}", file=sys.stderr)
            return 2
        print(f"record of request {args.request_id} written to {args.output} ({size} bytes)")
        return 0


def _cmd_reminders(args: argparse.Namespace) -> int:
    from ocenter.procedure.reminders import send_reminders

    with _installation() as ctx:
        run = send_reminders(ctx, args.today)
    print(f"reminders: {run.reminders}, escalations: {run.escalations}, "
          f"e-mailed: {run.emailed}, e-mail failed: {run.email_failed}")
    return 0


def _cmd_health(args: argparse.Namespace) -> int:
    import json

    from ocenter.config import load_settings
    from ocenter.operations.health import check_health, health_context

    # Opened for reading only: a health check creates no table, folder or store, nor pushes.
    ctx = health_context(load_settings())
    try:
        report = check_health(ctx)
    finally:
        ctx.engine.dispose()
    if args.json:
        document = report.model_dump(mode="json")
        for check, entry in zip(report.checks, document["checks"], strict=True):
            entry["message"] = check.message(args.lang)
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        for check in report.checks:
            value = "" if check.value is None else f"{check.value} {check.unit}".strip()
            print("\t".join([check.status.value, check.name, value, check.message(args.lang)]))
    return report.exit_code


def _one_line(text: str) -> str:
    """``text`` on one line of printable characters: a reason typed on the page may hold line
    breaks, tabs (the list's separator) or a terminal's escape sequences."""
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def _cmd_user_unlock(args: argparse.Namespace) -> int:
    from ocenter.accounts.admin import unlock_user

    with _installation() as ctx:
        unlock_user(ctx, None, args.username)
    print(f"user {args.username} unlocked")
    return 0


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from ocenter.audit import audit_lines, verify_event_log
    from ocenter.config import load_settings
    from ocenter.database import open_engine
    from ocenter.events import record

    # The database as it is: no tables created, no triggers put back before they are checked.
    engine = open_engine(load_settings().database_url)
    try:
        audit = verify_event_log(engine)
        lines = audit_lines(audit, args.lang)
        for line in lines:
            print(line, file=sys.stdout if audit.intact else sys.stderr)
        if audit.intact:
            return 0
        if audit.finding is None and not audit.chained:
            return 1  # a database this version has not opened: it has no chain to append to yet
        with Session(engine) as session:  # the finding is itself evidence
            english = audit_lines(audit, "en")
            record(session, "system", "audit.log_broken", outcome="broken", detail=" ".join(english))
            session.commit()
        return 1
    finally:
        engine.dispose()


def _cmd_backup(args: argparse.Namespace) -> int:
    from ocenter.config import load_settings
    from ocenter.operations.backup import make_backup, to_stderr

    result = make_backup(load_settings(), Path(args.destination), to_stderr)
    problems = result.manifest.data.problems
    print(f"backup written to {result.folder} ({len(result.manifest.files)} files, {result.size} bytes)")
    if problems:
        print(f"{len(problems)} file(s) the database names missing or altered: see stderr", file=sys.stderr)
    return 1 if problems else 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from ocenter.config import load_settings
    from ocenter.operations.backup import to_stderr
    from ocenter.operations.restore import restore_backup

    settings = load_settings()
    result = restore_backup(settings, Path(args.source), to_stderr)
    print(f"restored into {settings.home}: {sum(result.rows.values())} rows, {len(result.refs)} refs, "
          f"{result.files} files; event log intact")
    return 1 if result.problems else 0


def _cmd_db(args: argparse.Namespace) -> int:
    from ocenter.config import load_settings
    from ocenter.database import database_revision, upgrade_database
    from ocenter.i18n import t
    from ocenter.migrations import BASELINE, HEAD

    url = load_settings().database_url
    if args.db_command == "current":
        revision = database_revision(url)
        if revision is None:
            print(t("migration.no_revision", args.lang, head=HEAD))
        else:
            print(t("migration.current", args.lang, revision=revision, head=HEAD))
        if revision != HEAD:
            print(t("migration.behind", args.lang), file=sys.stderr)
        return 0 if revision == HEAD else 1
    done = upgrade_database(url)
    if done.adopted is not None:
        added = ", ".join(done.adopted) or t("migration.nothing_added", args.lang)
        print(t("migration.adopted", args.lang, baseline=BASELINE, added=added))
    if not done.changed:
        print(t("migration.up_to_date", args.lang, head=done.after))
    elif done.applied:
        print(t("migration.upgraded", args.lang, before=done.before or t("migration.none", args.lang),
                after=done.after, applied=", ".join(done.applied)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m ocenter``."""
    from ocenter.accounts.levels import Level, Role, ScopeKind

    parser = argparse.ArgumentParser(prog="python -m ocenter",
                                     description="BPOM Operational Center: data and dashboards.")
    commands = parser.add_subparsers(dest="command", required=True)

    init = commands.add_parser("init", help="create the database, the store and (demo) content")
    init.add_argument("--demo", action="store_true", help="load the demo content and users")
    init.set_defaults(run=_cmd_init)

    verify = commands.add_parser("verify", help="check a data file against a data contract")
    verify.add_argument("contract", help="contract YAML (OCenter or ODCS v3)")
    verify.add_argument("data", help="CSV, XLSX, XLS, ODS or XLSB file")
    verify.add_argument("--report", help="write the full JSON report here")
    verify.add_argument("--lang", choices=["id", "en"], default="id", help="message language")
    verify.add_argument("--schema", metavar="NAME",
                        help="the table of an ODCS contract with several that the file holds")
    verify.set_defaults(run=_cmd_verify)

    validate = commands.add_parser("validate-store", help="check every spec and contract")
    validate.add_argument("path", help="a bare store or a clone")
    validate.add_argument("--rev", help="revision to check (default: main / HEAD)")
    validate.set_defaults(run=_cmd_validate_store)

    contract = commands.add_parser("contract", help="convert, infer or describe contracts")
    contract.add_argument("action", choices=["import-odcs", "export-odcs", "infer", "json-schema"])
    contract.add_argument("file", help="input file")
    contract.add_argument("-o", "--output", help="write here instead of printing")
    contract.add_argument("--id", help="dataset id for infer")
    contract.add_argument("--owner", help="owner unit code for infer")
    contract.add_argument("--schema", metavar="NAME",
                          help="import-odcs: the table to take from a contract with several")
    contract.set_defaults(run=_cmd_contract)

    audit = commands.add_parser("audit", help="check the evidence the installation keeps")
    audit_commands = audit.add_subparsers(dest="audit_command", required=True)
    audit_verify = audit_commands.add_parser(
        "verify", help="check the event log's hash chain: 0 intact, 1 names the first entry "
        "changed, inserted or removed")
    audit_verify.add_argument("--lang", choices=["id", "en"], default="id", help="message language")
    audit_verify.set_defaults(run=_cmd_audit_verify)

    db = commands.add_parser("db", help="the database's schema: its revision, and upgrading it")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_upgrade = db_commands.add_parser(
        "upgrade", help="bring the database to this version's newest revision (every start does "
        "it too); a database made before migrations is recognised and adopted")
    db_current = db_commands.add_parser(
        "current", help="print the database's revision, changing nothing: 0 at the newest, 1 behind")
    for command in (db_upgrade, db_current):
        command.add_argument("--lang", choices=["id", "en"], default="id", help="message language")
    db.set_defaults(run=_cmd_db)

    grant = commands.add_parser("grant", help="dashboards granted to authorised parties")
    grant_commands = grant.add_subparsers(dest="grant_command", required=True)
    grant_add = grant_commands.add_parser("add", help="grant an approved dashboard to a user")
    grant_add.add_argument("username")
    grant_add.add_argument("dashboard", help="id of an approved dashboard on main")
    grant_add.add_argument("--reason", required=True, help="why (plain text, logged)")
    grant_add.add_argument("--until", required=True, type=date.fromisoformat, metavar="YYYY-MM-DD",
                           help="the day it ends: it counts on the days before, not on this one")
    grant_revoke = grant_commands.add_parser("revoke", help="revoke a grant in force")
    grant_revoke.add_argument("id", type=int, help="grant number (see grant list)")
    grant_revoke.add_argument("--reason", required=True, help="why (plain text, logged)")
    grant_list = grant_commands.add_parser(
        "list", help="grants in force, tab-separated: id, state, user, dashboard, ends on, by, reason")
    grant_list.add_argument("--all", action="store_true", help="also ended and revoked grants")
    grant.set_defaults(run=_cmd_grant)

    calendar = commands.add_parser(
        "calendar", help="the working-day calendar: national holidays, cuti bersama, corrections")
    calendar_commands = calendar.add_subparsers(dest="calendar_command", required=True)
    calendar_list = calendar_commands.add_parser(
        "list", help="a year's holidays, tab-separated: date, weekday, kind, source, state, name, "
        "decree, entered by")
    calendar_list.add_argument("year", type=int)
    calendar_list.add_argument("--all", action="store_true",
                               help="also removed entries, with who removed them and why")
    calendar_list.add_argument("--lang", choices=["id", "en"], default="id",
                               help="language of the national holidays' names")
    calendar_add = calendar_commands.add_parser(
        "add", help="enter a cuti bersama or a correction from its decree")
    calendar_add.add_argument("date", help="YYYY-MM-DD")
    calendar_add.add_argument("name", help="the day's name, as the decree gives it")
    calendar_add.add_argument("--decree", required=True, help='e.g. "SKB 3 Menteri No. ..."')
    calendar_add.add_argument("--kind", default="cuti_bersama",
                              choices=["cuti_bersama", "extra_holiday", "working_day"],
                              help="extra_holiday: a holiday the package lacks; working_day: a "
                              "package holiday that is a working day after all")
    calendar_remove = calendar_commands.add_parser("remove", help="remove the entry on a date")
    calendar_remove.add_argument("date", help="YYYY-MM-DD")
    calendar_remove.add_argument("--reason", required=True, help="why (plain text, logged)")
    calendar.set_defaults(run=_cmd_calendar)

    record = commands.add_parser("record", help="the records the SOP asks to keep")
    record_commands = record.add_subparsers(dest="record_command", required=True)
    record_export = record_commands.add_parser(
        "export", help="one request's record as a ZIP: form, submissions, spec history, decisions, "
        "letter, receipt, events with their hash-chain proof")
    record_export.add_argument("request_id", type=int, metavar="REQUEST_ID")
    record_export.add_argument("-o", "--output", required=True, metavar="FILE",
                               help="the ZIP to write (replaced only when complete)")
    record_export.add_argument("--as", dest="as_user", metavar="USERNAME",
                               help="take it as this user, with their authority (Pusdatin or the "
                               "requesting unit; what is above them is left out); without it, "
                               "the server's operator takes the whole record")
    record.set_defaults(run=_cmd_record)

    reminders = commands.add_parser("reminders", help="reminders and escalations of the clocks")
    reminder_commands = reminders.add_subparsers(dest="reminders_command", required=True)
    reminders_send = reminder_commands.add_parser(
        "send", help="make today's reminders (due next working day) and escalations (overdue), "
        "and e-mail them when OCENTER_SMTP_HOST is set; safe to run more than once a day")
    reminders_send.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD",
                                help="the day to run for (default: today in Jakarta)")
    reminders.set_defaults(run=_cmd_reminders)

    health = commands.add_parser(
        "health", help="check the database, store, mirror, folders, disk, data freshness, failed "
        "tiles and e-mails; exit 0 all ok, 1 a warning, 2 a check failing")
    health.add_argument("--json", action="store_true", help="print the checks as JSON")
    health.add_argument("--lang", choices=["id", "en"], default="id", help="message language")
    health.set_defaults(run=_cmd_health)
    backup = commands.add_parser(
        "backup", help="one consistent snapshot of the installation (database, spec store, data "
        "files) into a new folder, while the app runs; progress on stderr; exit 1 when a file the "
        "database names was missing")
    backup.add_argument("destination", metavar="DEST", help="a folder that does not exist yet, or is empty")
    backup.set_defaults(run=_cmd_backup)

    restore = commands.add_parser(
        "restore", help="bring a backup back into an empty installation (OCENTER_HOME, "
        "DATABASE_URL): every file checked first, the event log verified after")
    restore.add_argument("source", metavar="SRC", help="the backup's folder")
    restore.set_defaults(run=_cmd_restore)

    user = commands.add_parser("user-add", help="add a user (password asked, never an option)")
    user.add_argument("username")
    user.add_argument("--name", required=True)
    user.add_argument("--role", required=True, choices=[r.value for r in Role])
    user.add_argument("--clearance", required=True, choices=[lv.value for lv in Level])
    user.add_argument("--scope", required=True, choices=[s.value for s in ScopeKind])
    user.add_argument("--unit", help="unit code")
    user.add_argument("--email")
    user.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    user.set_defaults(run=_cmd_user_add)

    unlock = commands.add_parser("user-unlock",
                                 help="unlock a name locked after failed logins in a row")
    unlock.add_argument("username")
    unlock.set_defaults(run=_cmd_user_unlock)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; a user error is printed in English and exits 2, never as a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
