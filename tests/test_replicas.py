"""Several replicas of the app at once: real processes sharing one PostgreSQL database, one spec
store and one bucket (moto's S3 server), each with an OCENTER_HOME of its own as its cache.

Two writer processes send uploads, approve the same mock-up and verify each other's uploads at
the same time; then two ``streamlit run Home.py`` servers show the same dashboard. Nothing may be
lost or done twice, and the event log's chain must hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from ocenter import procedure
from ocenter.audit import verify_event_log
from ocenter.bootstrap import initialise
from ocenter.config import load_settings
from ocenter.context import open_context
from ocenter.models import DatasetVersion, Event, Submission, SubmissionStatus
from ocenter.verification.datasets import load_dataset
from tests.browser_helpers import launch, login, require_chromium, start_app, wait_until_healthy
from tests.conftest import PROJECT_ROOT, fresh_postgres_database
from tests.replica_writer import DATASET, UPLOADS_EACH
from tests.s3_server import bucket_env, new_bucket, running_s3_server

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A demo installation on PostgreSQL whose store and bucket every replica shares."""
    root = tmp_path_factory.mktemp("replicas")
    with running_s3_server() as endpoint, fresh_postgres_database() as database_url:
        bucket = new_bucket(endpoint)
        base = {"OCENTER_MODE": "demo", "DATABASE_URL": database_url,
                "OCENTER_STORE_PATH": str(root / "shared" / "store.git"), **bucket_env(endpoint, bucket)}
        ctx = initialise(load_settings({**base, "OCENTER_HOME": str(root / "setup")}), demo=True,
                         progress=lambda _message: None)
        yield {"root": root, "env": base, "ctx": ctx}
        ctx.engine.dispose()


def _replica_env(shared: dict, name: str) -> dict[str, str]:
    env = {**os.environ, **shared["env"], "OCENTER_HOME": str(shared["root"] / name)}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    return env


def test_two_replicas_working_at_once_lose_nothing_and_do_nothing_twice(shared):
    ctx = shared["ctx"]
    with Session(ctx.engine) as session:
        submissions_before = len(session.exec(select(Submission.id)).all())
    meeting = shared["root"] / "meeting"
    meeting.mkdir()
    writers = [
        subprocess.Popen([sys.executable, "-m", "tests.replica_writer", str(index), str(meeting)],
                         cwd=PROJECT_ROOT, env=_replica_env(shared, f"writer-{index}"),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for index in (0, 1)
    ]
    time.sleep(3)  # both have imported the app and opened their context by now, or wait on it
    (meeting / "start").touch()
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err.decode()[-3000:]
        results.append(json.loads(out.decode().strip().splitlines()[-1]))

    sent = [sid for result in results for sid in result["sent"]]
    assert len(sent) == len(set(sent)) == 2 * UPLOADS_EACH
    with Session(ctx.engine) as session:
        new = session.exec(select(Submission).where(col(Submission.id).in_(sent))).all()
        assert len(session.exec(select(Submission.id)).all()) == submissions_before + len(sent)
        # Every upload once, each accepted by the other replica, each a dataset version once.
        assert len({s.upload_sha256 for s in new}) == len(sent)
        assert {s.status for s in new} == {SubmissionStatus.VERIFIED}
        versions = session.exec(
            select(DatasetVersion).where(col(DatasetVersion.submission_id).in_(sent))).all()
        assert sorted(v.submission_id for v in versions) == sorted(sent)
        approvals = session.exec(select(Event).where(Event.action == "mockup.approved",
                                                     Event.request_id == 2)).all()
        events = len(session.exec(select(Event.id)).all())
    assert {sid for r in results for sid in r["decided"]} == {str(s) for s in sent}
    # Both approved the same revision of the same mock-up at once: one merge, recorded once;
    # the second approval got the merge back as already done.
    merges = {r["approval"].get("merge") for r in results}
    assert len(merges) == 1 and None not in merges, results
    assert len(approvals) == 1
    main_log = subprocess.run(["git", f"--git-dir={ctx.store.path}", "log", "--merges", "--format=%H",
                               "main"], capture_output=True, check=True, text=True).stdout.split()
    assert main_log.count(merges.pop()) == 1
    # No event lost or altered: the chain holds, one entry per event.
    audit = verify_event_log(ctx.engine)
    assert audit.intact and audit.chained + audit.sealed == events
    # The newest build, made by whichever replica accepted last, is read by a third replica
    # that has nothing in its folders, and holds every accepted upload's rows.
    reader = open_context(load_settings(_replica_env(shared, "reader")))
    try:
        build = procedure.latest_versions(reader)[DATASET]
        table = load_dataset(reader.home, DATASET, build.sha256, file_sha256=build.file_sha256)
        ids = set(table.column("id_sampel").to_pylist())
        for version in versions:
            accepted = load_dataset(reader.home, DATASET, version.sha256, file_sha256=version.file_sha256)
            assert set(accepted.column("id_sampel").to_pylist()) <= ids
    finally:
        reader.engine.dispose()


def _serve(shared: dict, name: str, log: Path) -> tuple[subprocess.Popen, str]:
    with log.open("w") as output:
        return start_app(_replica_env(shared, name), output)


@pytest.mark.browser
def test_two_app_servers_show_the_same_dashboard(shared):
    require_chromium()
    from playwright.sync_api import sync_playwright

    logs = [shared["root"] / f"server-{n}.log" for n in (0, 1)]
    servers = [_serve(shared, f"server-{n}", logs[n]) for n in (0, 1)]
    try:
        for (process, url), log in zip(servers, logs, strict=True):
            wait_until_healthy(url, process, log, seconds=120)
        shown = []
        with sync_playwright() as playwright:
            browser = launch(playwright)
            try:
                for _process, url in servers:
                    page = browser.new_context(viewport={"width": 1600, "height": 1000}).new_page()
                    page.set_default_timeout(90_000)
                    page.goto(url)
                    login(page, "kepala")
                    page.goto(f"{url}/tampilan")
                    page.get_by_text("Pantauan Hasil Sampling dan Pengujian").first.wait_for()
                    page.locator(".vega-embed").first.wait_for()
                    values = page.locator("[data-testid='stMetricValue']")
                    values.first.wait_for()
                    shown.append(values.all_inner_texts())
            finally:
                browser.close()
        # Each server read the dashboard's data from the bucket into its own empty cache.
        assert shown[0] and shown[0] == shown[1], shown
        for n in (0, 1):
            assert list((shared["root"] / f"server-{n}" / "datasets" / DATASET).glob("*.parquet"))
    finally:
        for process, _url in servers:
            process.terminate()
            process.wait(timeout=30)
