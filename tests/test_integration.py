"""Data integrated from all producers: each sender replaces only its own part, and Pusdatin sees
who has sent (SOP general description B.1)."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from sqlmodel import Session, select

from ocenter import procedure
from ocenter.accounts.levels import Level
from ocenter.bootstrap import DEMO_LATE_SENDERS, demo_upt_code
from ocenter.errors import UserError
from ocenter.integration.completeness import SenderStatus
from ocenter.models import Event, PartitionVersion
from ocenter.verification.datasets import load_dataset

DATASET = "sampling-pengujian"


def integrated(ctx) -> pd.DataFrame:  # noqa: ANN001
    """What dashboards read, as text, with each row's sender and month."""
    build = procedure.latest_versions(ctx)[DATASET]
    frame = load_dataset(ctx.home, DATASET, build.sha256).to_pandas()
    frame["tanggal_sampling"] = frame["tanggal_sampling"].astype(str)
    frame["month"] = frame["tanggal_sampling"].str[:7]
    return frame


def newest_month_senders(ctx) -> tuple[str, set[str]]:  # noqa: ANN001
    """The demo's newest month and the UPT expected to have sent it: every UPT the demo's own
    generator gives rows for that month (on the first day of a month in Jakarta only those that
    sampled that day), less the late senders the demo leaves out."""
    from datetime import date

    from ocenter.bootstrap import demo_sampling_frame

    frame = integrated(ctx)
    newest = frame["month"].max()
    generated = demo_sampling_frame(date.fromisoformat(frame["tanggal_sampling"].max()))
    codes = set(generated["kode_upt"])
    late = set(sorted(codes - {demo_upt_code()})[-DEMO_LATE_SENDERS:])
    in_newest = set(generated.loc[generated["tanggal_sampling"].str[:7] == newest, "kode_upt"])
    return newest, in_newest - late


def partition_ids(frame: pd.DataFrame) -> dict[tuple[str, str], set[str]]:
    return {key: set(group["id_sampel"]) for key, group in frame.groupby(["kode_upt", "month"])}


def as_csv(frame: pd.DataFrame) -> bytes:
    columns = [c for c in frame.columns if c != "month"]
    out = frame[columns].astype(str).replace({"<NA>": "", "None": "", "nan": ""})
    return out.to_csv(index=False).encode("utf-8")


def send_and_accept(ctx, sender, verifier, content: bytes, **declared):  # noqa: ANN001, ANN003
    submission = procedure.submit_data(ctx, sender, dataset_id=DATASET, level=Level.TERBATAS,
                                       filename="kiriman.csv", content=content, **declared)
    procedure.receive_submission(ctx, verifier, submission.id)
    report = procedure.check_submission(ctx, verifier, submission.id)
    assert report.valid, [e.message("en") for e in report.errors[:3]] + [
        i.message("en") for i in report.dataset_issues]
    procedure.decide_submission(ctx, verifier, submission.id, accept=True, note="Sesuai kontrak.")
    return submission


def test_a_upt_file_replaces_only_its_own_months_and_keeps_everyone_else(demo_ctx, as_user):
    upt, verifier = as_user("upt"), as_user("verifikator")
    before = integrated(demo_ctx)
    bandung = demo_upt_code()
    assert before["kode_upt"].nunique() == 76  # the national view: every UPT
    mine = before[before["kode_upt"] == bandung]
    months = sorted(mine["month"].unique())[-2:]
    corrected = mine[mine["month"].isin(months)].groupby("month").head(3).copy()
    corrected["jumlah_sampel"] = "7"

    send_and_accept(demo_ctx, upt, verifier, as_csv(corrected))

    after = integrated(demo_ctx)
    want = partition_ids(before)
    for month in months:
        want[(bandung, month)] = set(corrected.loc[corrected["month"] == month, "id_sampel"])
    assert partition_ids(after) == want
    replaced = after[(after["kode_upt"] == bandung) & after["month"].isin(months)]
    assert set(replaced["jumlah_sampel"].astype(str)) == {"7"}
    untouched = after[~((after["kode_upt"] == bandung) & after["month"].isin(months))]
    expected = before[~((before["kode_upt"] == bandung) & before["month"].isin(months))]
    pd.testing.assert_frame_equal(untouched.reset_index(drop=True), expected.reset_index(drop=True))
    for month in months:  # the completeness table counts the new rows, and nobody else changed
        status = procedure.completeness_of(demo_ctx, verifier, DATASET, month)
        rows = {s.sender: s.rows for s in status.senders}
        assert rows == {code: len(ids) for (code, m), ids in want.items() if m == month} | {
            code: 0 for code in rows if (code, month) not in want}


def test_rows_of_another_sender_are_errors_of_their_cells(demo_ctx, as_user):
    upt, verifier = as_user("upt"), as_user("verifikator")
    frame = integrated(demo_ctx)
    mine = frame[frame["kode_upt"] == demo_upt_code()].tail(4)
    other = frame[frame["kode_upt"] != demo_upt_code()].tail(1)
    content = as_csv(pd.concat([mine, other]))
    submission = procedure.submit_data(ctx := demo_ctx, upt, dataset_id=DATASET,
                                       level=Level.TERBATAS, filename="x.csv", content=content)
    procedure.receive_submission(ctx, verifier, submission.id)
    report = procedure.check_submission(ctx, verifier, submission.id)
    assert not report.valid
    assert [(e.row, e.column, e.check, e.value) for e in report.errors] == [
        (6, "kode_upt", "partition", other["kode_upt"].iloc[0])
    ]
    assert demo_upt_code() in report.errors[0].message("id")


def test_a_central_unit_replaces_every_part_its_national_file_covers(demo_ctx, as_user):
    pppomn, verifier = as_user("pppomn"), as_user("verifikator")
    before = integrated(demo_ctx)
    month = sorted(before["month"].unique())[-3]
    national = before[before["month"] == month].groupby("kode_upt").head(1).copy()
    national = national[national["kode_upt"].isin(sorted(national["kode_upt"])[:40])]

    send_and_accept(demo_ctx, pppomn, verifier, as_csv(national))

    after = partition_ids(integrated(demo_ctx))
    want = partition_ids(before)
    for code, group in national.groupby("kode_upt"):
        want[(code, month)] = set(group["id_sampel"])
    assert after == want  # the 36 UPT the file does not name keep their month
    status = procedure.completeness_of(demo_ctx, verifier, DATASET, month)
    assert {s.sender: s.rows for s in status.senders if s.rows} == {
        code: len(ids) for (code, m), ids in want.items() if m == month}


def test_a_file_without_rows_is_refused_unless_the_sender_says_there_is_nothing(demo_ctx, as_user):
    upt, verifier = as_user("upt"), as_user("verifikator")
    header = as_csv(integrated(demo_ctx).head(0))
    with pytest.raises(UserError) as refused:
        procedure.submit_data(demo_ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                              filename="kosong.csv", content=header)
    assert refused.value.key == "procedure.no_rows"
    rows_before = procedure.latest_versions(demo_ctx)[DATASET].rows

    before = integrated(demo_ctx)
    bandung = demo_upt_code()
    month = sorted(before["month"].unique())[-1]
    emptied = len(before[(before["kode_upt"] == bandung) & (before["month"] == month)])
    assert emptied > 0
    with pytest.raises(UserError) as wrong:
        procedure.submit_data(demo_ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                              filename="kosong.csv", content=header, nothing_to_report="2026-13")
    assert wrong.value.key == "procedure.bad_period"
    with pytest.raises(UserError) as not_empty:
        procedure.submit_data(demo_ctx, upt, dataset_id=DATASET, level=Level.TERBATAS,
                              filename="isi.csv", content=as_csv(before.head(1)),
                              nothing_to_report=month)
    assert (not_empty.value.key, not_empty.value.params) == ("procedure.declared_but_rows", {"rows": 1})

    submission = send_and_accept(demo_ctx, upt, verifier, header, nothing_to_report=month)

    after = integrated(demo_ctx)
    assert procedure.latest_versions(demo_ctx)[DATASET].rows == rows_before - emptied
    want = partition_ids(before)
    del want[(bandung, month)]
    assert partition_ids(after) == want
    status = procedure.completeness_of(demo_ctx, verifier, DATASET, month)
    assert {s.sender: s.status for s in status.senders}[bandung] == SenderStatus.EMPTY
    with Session(demo_ctx.engine) as session:
        logged = session.exec(select(Event).where(Event.submission_id == submission.id,
                                                  Event.action == "data.integrated")).one()
    assert logged.outcome == "declared_empty" and f"{bandung}/{month}" in logged.detail


def test_the_verifier_also_refuses_a_file_without_rows(demo_ctx):
    from ocenter.contracts.model import contract_from_yaml
    from ocenter.verification.engine import verify_table

    contract = contract_from_yaml(demo_ctx.store.read_file("main", f"data_contracts/{DATASET}.yaml"))
    empty = pa.table({f.name: pa.array([], pa.string()) for f in contract.fields})
    assert verify_table(contract, empty).valid  # the command line checks a file as it is
    report = verify_table(contract, empty, require_rows=True)
    assert not report.valid and [i.check for i in report.dataset_issues] == ["no_rows"]


def test_two_senders_accepted_in_either_order_give_the_same_dataset(demo_home, tmp_path):
    import shutil

    from ocenter.accounts.login import authority_of
    from ocenter.context import open_context
    from tests.conftest import settings_for

    results = []
    for order in ((0, 1), (1, 0)):
        home = tmp_path / f"home-{order[0]}"
        shutil.copytree(demo_home, home)
        ctx = open_context(settings_for(home))
        try:
            def user(name: str, ctx=ctx):  # noqa: ANN202
                return authority_of(ctx.engine, name, production=False)

            frame = integrated(ctx)
            month = sorted(frame["month"].unique())[-2]
            bandung = frame[(frame["kode_upt"] == demo_upt_code()) & (frame["month"] == month)].head(2)
            national = frame[(frame["month"] == month) & (frame["kode_upt"] != demo_upt_code())]
            national = national.groupby("kode_upt").head(1).copy()
            national["hasil_uji"] = "MS"  # each sender's part is its own: the two do not overlap
            files = [(user("upt"), as_csv(bandung)), (user("pppomn"), as_csv(national))]
            for index in order:
                send_and_accept(ctx, files[index][0], user("verifikator"), files[index][1])
            build = procedure.latest_versions(ctx)[DATASET]
            results.append((build.sha256, load_dataset(ctx.home, DATASET, build.sha256)))
        finally:
            ctx.engine.dispose()
    (first_sha, first), (second_sha, second) = results
    assert first.equals(second)
    assert first_sha == second_sha


def test_pusdatin_sees_who_has_sent_and_the_demo_shows_who_is_late(demo_ctx, as_user):
    verifier, upt = as_user("verifikator"), as_user("upt")
    status = procedure.completeness_of(demo_ctx, verifier, DATASET)
    frame = integrated(demo_ctx)
    newest = sorted(frame["month"].unique())[-1]
    assert status.period == newest and status.expected == 76
    sent_now = set(frame.loc[frame["month"] == newest, "kode_upt"])
    assert (newest, sent_now) == newest_month_senders(demo_ctx)
    assert status.reported == len(sent_now) and 0 < len(sent_now) <= 76 - DEMO_LATE_SENDERS
    by_sender = {s.sender: s for s in status.senders}
    for code in set(by_sender) - sent_now:
        assert by_sender[code].status == SenderStatus.MISSING and by_sender[code].rows == 0
    for code in sent_now:
        rows = int(((frame["kode_upt"] == code) & (frame["month"] == newest)).sum())
        assert by_sender[code].status == SenderStatus.SENT and by_sender[code].rows == rows
    cells = procedure.completeness_grid(demo_ctx, verifier, DATASET, months=12)
    assert len(cells) == 76 * 12
    assert sum(c["rows"] for c in cells) == int(frame["month"].isin(
        sorted(frame["month"].unique())[-12:]).sum())
    with pytest.raises(UserError) as refused:
        procedure.completeness_of(demo_ctx, upt, DATASET)
    assert refused.value.key == "auth.forbidden"


def test_going_back_to_an_earlier_version_is_a_logged_decision(demo_ctx, as_user):
    upt, verifier, analyst = as_user("upt"), as_user("verifikator"), as_user("analis")
    before = integrated(demo_ctx)
    bandung = demo_upt_code()
    # The newest month of Bandung's with more than one row (on the first day of a month in
    # Jakarta, the month just begun may hold one or none), so that a file of one row is less.
    per_month = before[before["kode_upt"] == bandung].groupby("month").size()
    month = max(m for m, rows in per_month.items() if rows > 1)
    send_and_accept(demo_ctx, upt, verifier, as_csv(
        before[(before["kode_upt"] == bandung) & (before["month"] == month)].head(1)))
    assert len(integrated(demo_ctx)) < len(before)

    history = procedure.partition_history(demo_ctx, verifier, DATASET, bandung, month)
    assert [v.rows for v in history][:2] == [1, len(before[(before["kode_upt"] == bandung)
                                                            & (before["month"] == month)])]
    with pytest.raises(UserError) as no_reason:
        procedure.restore_partition(demo_ctx, verifier, history[1].id, note=" ")
    assert no_reason.value.key == "procedure.restore_needs_reason"
    with pytest.raises(UserError) as not_allowed:
        procedure.restore_partition(demo_ctx, analyst, history[1].id, note="Salah kirim")
    assert not_allowed.value.key == "auth.forbidden"

    procedure.restore_partition(demo_ctx, verifier, history[1].id, note="Kiriman terakhir keliru")

    pd.testing.assert_frame_equal(integrated(demo_ctx), before)
    with Session(demo_ctx.engine) as session:
        versions = session.exec(select(PartitionVersion).where(
            PartitionVersion.sender == bandung, PartitionVersion.period == month)).all()
        logged = session.exec(select(Event).where(Event.action == "data.partition_restored")).one()
    assert [v.action.value for v in versions][-3:] == ["accepted", "accepted", "restored"]
    assert "Kiriman terakhir keliru" in logged.detail and logged.actor == "verifikator"


def test_integration_matches_a_plain_reading_of_the_rule(tmp_path):
    """A second implementation of the rule in plain Python: for every partition, the rows of the
    newest file that holds it, in that file's order; partitions by sender, then month."""
    import datetime as dt
    import random

    from ocenter.contracts.model import ContractField, DataContract, FieldType, Partitioning
    from ocenter.integration.build import build_integrated, current_partitions
    from ocenter.integration.partitions import PartitionState, keys_of
    from ocenter.verification.datasets import store_dataset_version

    contract = DataContract(
        id="uji", title="Uji", owner_unit="PPPOMN",
        partitioning=Partitioning(sender_field="upt", period_field="tanggal"),
        fields=[ContractField(name="upt", label="UPT", description="UPT"),
                ContractField(name="tanggal", label="Tanggal", description="Tanggal",
                              type=FieldType.DATE),
                ContractField(name="nilai", label="Nilai", description="Nilai",
                              type=FieldType.INTEGER)],
    )
    rng = random.Random(20261130)
    states: list[PartitionState] = []
    newest_file_rows: dict[tuple[str, str], list[tuple[str, str, int]]] = {}
    previous = None
    for number in range(30):
        rows = []
        for sender in rng.sample("ABCDE", rng.randint(1, 3)):
            for month in rng.sample(range(1, 5), rng.randint(1, 2)):
                for _ in range(rng.randint(1, 4)):
                    day = dt.date(2026, month, rng.randint(1, 28)).isoformat()
                    rows.append((sender, day, rng.randint(0, 999)))
        rng.shuffle(rows)  # a file need not be sorted
        table = pa.table({name: pa.array([str(r[i]) for r in rows], pa.string())
                          for i, name in enumerate(["upt", "tanggal", "nilai"])})
        stored = store_dataset_version(tmp_path, contract, table, f"file {number}".encode(), "f.csv")
        keys = keys_of(contract, load_dataset(tmp_path, "uji", stored.sha256))
        assert keys == {k: sum((r[0], r[1][:7]) == k for r in rows) for k in keys}
        for (sender, period), count in keys.items():
            states.append(PartitionState(len(states) + 1, sender, period, stored.sha256, count,
                                         "accepted", dt.datetime(2026, 11, 30, tzinfo=dt.UTC)))
            newest_file_rows[(sender, period)] = [r for r in rows if (r[0], r[1][:7]) == (sender, period)]
        previous = build_integrated(tmp_path, contract, current_partitions(states), previous,
                                    keys).sha256
    got = [(r["upt"], r["tanggal"].isoformat(), r["nilai"])
           for r in load_dataset(tmp_path, "uji", previous).to_pylist()]
    assert got == [row for key in sorted(newest_file_rows) for row in newest_file_rows[key]]


# --- through the pages --------------------------------------------------------------------------


def test_a_upt_states_through_the_page_that_it_has_nothing_to_report(app, demo_ctx):
    from tests.test_app import _button, _login

    header = as_csv(integrated(demo_ctx).head(0))
    at = _login(app, "upt")
    at.switch_page("pages/kirim_data.py").run()
    at.file_uploader[0].set_value(("kosong.csv", header, "text/csv"))
    _button(at, "Kirim data").click()
    at.run()
    assert [e.value for e in at.error] == [
        "Berkas tidak berisi baris data. Bila memang tidak ada data untuk dilaporkan, centang "
        "pernyataan \"tidak ada data untuk dilaporkan\" dan pilih bulannya."
    ]
    at.file_uploader[0].set_value(("kosong.csv", header, "text/csv"))
    at.checkbox[0].check()
    at.text_input[0].input("2026-10")
    _button(at, "Kirim data").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("terkirim" in s.value for s in at.success)
    with Session(demo_ctx.engine) as session:
        from ocenter.models import EmptyDeclaration

        assert [d.period for d in session.exec(select(EmptyDeclaration)).all()] == ["2026-10"]


def test_pusdatin_sees_who_has_not_sent_and_every_tile_says_how_complete(app, demo_ctx):
    from tests.test_app import _login

    at = _login(app, "verifikator")
    at.switch_page("pages/kelengkapan.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    reported = len(newest_month_senders(demo_ctx)[1])
    assert [m.value for m in at.metric][:2] == [f"{reported} / 76", str(76 - reported)]

    wall = _login(type(app).from_file(app._script_path, default_timeout=app.default_timeout).run(),
                  "kepala")
    wall.switch_page("pages/tampilan.py").run()
    # Each tile: the level of its data, then how complete and how recent it is.
    notes = [c.value for c in wall.caption if " · Kelengkapan " in c.value]
    assert notes and all(f"{reported} dari 76 pengirim" in n for n in notes)
    assert all(n.split(" · ")[0] in ("Terbatas", "Rahasia") for n in notes)
