"""``python -m ocenter``: the command line scripts and reviewers use."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ocenter(*args: str, home: Path | None = None, stdin: str | None = None,
             temporary: Path | None = None):  # noqa: ANN202
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    if home is not None:
        env["OCENTER_HOME"] = str(home)
    if temporary is not None:
        env["TMPDIR"] = str(temporary)
    return subprocess.run([sys.executable, "-m", "ocenter", *args], capture_output=True,
                          text=True, env=env, cwd=ROOT, input=stdin, timeout=300)


def _git(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                          cwd=cwd).stdout


def test_init_is_idempotent(tmp_path):
    home = tmp_path / "home"
    first = _ocenter("init", "--demo", home=home)
    assert first.returncode == 0, first.stderr
    main_before = _git("--git-dir", str(home / "store.git"), "rev-parse", "main")
    files_before = sorted((home / "datasets" / "sampling-pengujian").glob("*.parquet"))
    second = _ocenter("init", "--demo", home=home)
    assert second.returncode == 0, second.stderr
    assert _git("--git-dir", str(home / "store.git"), "rev-parse", "main") == main_before
    # One file per UPT's accepted submission, the integrated dataset dashboards read and the one
    # before it (a page may still be reading it); older builds are removed: the partition
    # versions can make them again.
    assert sorted((home / "datasets" / "sampling-pengujian").glob("*.parquet")) == files_before
    assert len(files_before) == 76 + 2


def test_commands_leave_nothing_in_the_temporary_folder(tmp_path):
    """A command runs git many times (a first start writes the whole store) and must leave the
    temporary folder as it found it, also the folders it made while running."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    home = tmp_path / "home"
    started = _ocenter("init", home=home, temporary=temporary)
    assert started.returncode == 0, started.stderr
    checked = _ocenter("validate-store", str(home / "store.git"), temporary=temporary)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert sorted(p.name for p in temporary.iterdir()) == []


def test_validate_store_names_each_broken_file(demo_home, tmp_path):
    store = demo_home / "store.git"
    assert _ocenter("validate-store", str(store)).returncode == 0
    clone = tmp_path / "clone"
    _git("clone", "-q", str(store), str(clone))
    (clone / "specs" / "pantauan-sampling-pengujian.yaml").write_text("id: [rusak\n")
    contract = clone / "data_contracts" / "sampling-pengujian.yaml"
    contract.write_text(contract.read_text().replace("type: integer", "type: bilangan"))
    _git("-c", "user.name=Dev", "-c", "user.email=dev@example.org", "commit", "-qam", "rusak",
         cwd=clone)
    result = _ocenter("validate-store", str(clone))
    assert result.returncode == 1
    assert "specs/pantauan-sampling-pengujian.yaml" in result.stdout
    assert "data_contracts/sampling-pengujian.yaml" in result.stdout
    # The bare store itself is untouched and still valid.
    assert _ocenter("validate-store", str(store)).returncode == 0


def test_verify_exit_codes_and_report(demo_home, tmp_path):
    contract = tmp_path / "kontrak.yaml"
    contract.write_text(
        _git("--git-dir", str(demo_home / "store.git"), "show",
             "main:data_contracts/sampling-pengujian.yaml")
    )
    from ocenter.bootstrap import demo_sampling_frame

    frame = demo_sampling_frame(date(2026, 3, 10), months=2).tail(40).reset_index(drop=True)
    good = tmp_path / "baik.csv"
    frame.to_csv(good, index=False)
    report = tmp_path / "laporan.json"
    ok = _ocenter("verify", str(contract), str(good), "--report", str(report))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads(report.read_text())["valid"] is True

    frame.loc[2, "hasil_uji"] = "NA"  # text, not a missing value, and not an allowed one
    bad = tmp_path / "buruk.csv"
    frame.to_csv(bad, index=False)
    failed = _ocenter("verify", str(contract), str(bad), "--report", str(report))
    assert failed.returncode == 1
    errors = json.loads(report.read_text())["errors"]
    assert [(e["row"], e["column"], e["check"], e["value"]) for e in errors] == [
        (4, "hasil_uji", "allowed_values", "NA")
    ]

    unreadable = tmp_path / "kosong.csv"
    unreadable.write_bytes(b"")
    broken = _ocenter("verify", str(contract), str(unreadable), "--report", str(report))
    assert broken.returncode == 2
    assert "Traceback" not in broken.stderr + broken.stdout


def test_the_command_line_loads_no_heavy_module_before_a_command_runs():
    # verify starts reading its file on a thread before pydantic and the contract model load
    # (ocenter.cli._cmd_verify); a module-level import in the command line, or in what it
    # imports first, would make the read wait for them again, and load numpy before verify
    # sets OPENBLAS_NUM_THREADS.
    heavy = ["pyarrow", "numpy", "pandas", "pydantic", "pydantic_core", "yaml", "sqlmodel",
             "sqlalchemy", "git", "altair", "streamlit"]
    code = ("import sys, ocenter.cli; ocenter.cli.build_parser(); "
            f"print(' '.join(m for m in {heavy!r} if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, check=True).stdout.split()
    assert loaded == []


def test_user_add_takes_the_password_from_stdin_never_an_option(tmp_path):
    home = tmp_path / "home"
    assert _ocenter("init", home=home).returncode == 0
    added = _ocenter("user-add", "pimpinan", "--name", "Pimpinan", "--role", "kepala",
                     "--clearance", "sangat-rahasia", "--scope", "bpom", "--password-stdin",
                     home=home, stdin="kata-sandi-panjang\n")
    assert added.returncode == 0, added.stderr
    again = _ocenter("user-add", "pimpinan", "--name", "Pimpinan", "--role", "kepala",
                     "--clearance", "sangat-rahasia", "--scope", "bpom", "--password-stdin",
                     home=home, stdin="kata-sandi-panjang\n")
    assert again.returncode == 2 and "already exists" in again.stderr


def test_user_unlock_unlocks_a_locked_name_and_says_when_there_is_nothing_to_unlock(demo_home):
    import dataclasses
    from datetime import UTC, datetime, timedelta

    import pytest

    from ocenter.accounts.authentication import authenticate
    from ocenter.accounts.throttle import USER_LOCK_AFTER
    from ocenter.bootstrap import DEMO_PASSWORD
    from ocenter.clock import FixedClock
    from ocenter.context import open_context
    from ocenter.errors import UserError
    from tests.conftest import settings_for

    ctx = open_context(settings_for(demo_home))
    try:
        start = datetime.now(UTC) - timedelta(hours=1)
        for failure in range(USER_LOCK_AFTER):
            with pytest.raises(UserError):
                authenticate(dataclasses.replace(ctx, clock=FixedClock(start + timedelta(minutes=failure))),
                             "kabalai", "bukan-kata-sandinya", "client:192.0.2.7")
        with pytest.raises(UserError) as locked:
            authenticate(ctx, "kabalai", DEMO_PASSWORD, "client:192.0.2.7")
        assert locked.value.key == "login.locked"

        unlocked = _ocenter("user-unlock", "kabalai", home=demo_home)
        assert unlocked.returncode == 0, unlocked.stderr
        assert authenticate(ctx, "kabalai", DEMO_PASSWORD, "client:192.0.2.7")
        again = _ocenter("user-unlock", "kabalai", home=demo_home)
        assert again.returncode == 2 and "kabalai is not locked" in again.stderr
    finally:
        ctx.engine.dispose()


def test_contract_infer_and_odcs_round_trip(demo_home, tmp_path):
    from ocenter.contracts.model import contract_from_yaml

    sample = tmp_path / "contoh.csv"
    sample.write_text("kode_upt;jumlah;catatan\nUPT-3201;01;NA\nUPT-3101;12;\n", encoding="utf-8")
    inferred = _ocenter("contract", "infer", str(sample), "--id", "contoh-data", "--owner", "PPPOMN")
    assert inferred.returncode == 0, inferred.stderr
    draft = contract_from_yaml(inferred.stdout)
    assert draft.id == "contoh-data"
    assert draft.field_names() == ["kode_upt", "jumlah", "catatan"]

    source = tmp_path / "kontrak.yaml"
    source.write_text(_git("--git-dir", str(demo_home / "store.git"), "show",
                           "main:data_contracts/sampling-pengujian.yaml"))
    odcs_file = tmp_path / "kontrak.odcs.yaml"
    assert _ocenter("contract", "export-odcs", str(source), "-o", str(odcs_file)).returncode == 0
    back = _ocenter("contract", "import-odcs", str(odcs_file))
    assert back.returncode == 0, back.stderr
    assert contract_from_yaml(back.stdout) == contract_from_yaml(source.read_text())


def test_calendar_lists_adds_and_removes_the_days_off_of_a_year(demo_home):
    listed = _ocenter("calendar", "list", "2027", home=demo_home)
    assert listed.returncode == 0, listed.stderr
    lines = [line.split("\t") for line in listed.stdout.splitlines()]
    assert len(lines) == 18 + 8  # the SKB 3 Menteri for 2027: national holidays, cuti bersama
    assert lines[1][:5] == ["2027-01-05", "Tue", "national", "package", "in effect"]
    assert lines[2][:5] == ["2027-02-05", "Fri", "cuti_bersama", "database", "in effect"]
    assert lines[2][6:] == ["SKB 3 Menteri No. 1205 Tahun 2026, No. 3 Tahun 2026, No. 2 Tahun 2026",
                            "system"]

    added = _ocenter("calendar", "add", "2027-06-03", "Cuti Bersama Uji",
                     "--decree", "SKB 3 Menteri No. 9 Tahun 2027", home=demo_home)
    assert (added.returncode, added.stdout) == (0, "2027-06-03 cuti_bersama entered (entry 28)\n")
    refused = _ocenter("calendar", "add", "03-06-2027", "Cuti", "--decree", "SKB", home=demo_home)
    assert refused.returncode == 2
    assert refused.stderr == ("error: Unrecognised date format: '03-06-2027'. Write the date as "
                              "YYYY-MM-DD, for example 2027-03-09.\n")
    removed = _ocenter("calendar", "remove", "2027-06-03", "--reason", "Uji selesai.", home=demo_home)
    assert removed.returncode == 0, removed.stderr
    every = _ocenter("calendar", "list", "2027", "--all", home=demo_home)
    [row] = [line.split("\t") for line in every.stdout.splitlines() if line.startswith("2027-06-03")]
    assert row[2:5] + row[-2:] == ["cuti_bersama", "database", "removed", "cli", "Uji selesai."]
