"""Work lists at thousands of requests: what the database filters, searches and pages must be
exactly what the visibility rule lets each viewer see, on SQLite and on PostgreSQL."""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.context import AppContext
from ocenter.database import make_engine
from ocenter.models import DashboardRequest, Evaluation, RequestStatus, Submission, SubmissionStatus, User
from ocenter.procedure import list_requests, list_submissions, worklists
from ocenter.procedure.overview import step_counts
from tests.conftest import fresh_postgres_database

UNITS = ["DIT-WAS-KOSMETIK", "PPPOMN", "UPT-3201"]
#: 3 units x 4 levels x 10 statuses = 120 requests, one of each kind, plus titles to search.
KINDS = list(itertools.product(UNITS, list(Level), list(RequestStatus)))
START = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


def _viewers() -> list[Authority]:
    """Every role at every clearance, in a unit that files requests and in one that does not."""
    viewers = []
    for role, clearance, unit in itertools.product(Role, Level, ["DIT-WAS-KOSMETIK", "BPS", None]):
        scope = {Role.KEPALA: ScopeKind.BPOM, Role.DEPUTI: ScopeKind.BPOM, Role.ANALIS: ScopeKind.BPOM,
                 Role.VERIFIKATOR: ScopeKind.BPOM, Role.LAYAR: ScopeKind.BPOM, Role.ADMIN: ScopeKind.BPOM,
                 Role.KABALAI: ScopeKind.UPT, Role.UPT: ScopeKind.UPT, Role.TAMU: ScopeKind.GRANT,
                 Role.MITRA: ScopeKind.GRANT}.get(role, ScopeKind.UNIT)
        viewers.append(Authority(username=f"{role.value}-{clearance.value}-{unit}", role=role,
                                 clearance=clearance, scope=scope, unit_code=unit))
    return viewers


def listed_by_hand(viewer: Authority, request: DashboardRequest) -> bool:
    """The rule as the README states it, written here again: a viewer lists the requests they
    work on (Pusdatin and all of BPOM every one, a unit its own), except another unit's request
    above their clearance (Pusdatin, who works every request, lists it withheld)."""
    pusdatin = viewer.role in (Role.ANALIS, Role.VERIFIKATOR)
    own = viewer.unit_code is not None and viewer.unit_code == request.requesting_unit
    works_on = pusdatin or viewer.scope == ScopeKind.BPOM or own
    covered = {Level.TERBUKA: 1, Level.TERBATAS: 2, Level.RAHASIA: 3, Level.SANGAT_RAHASIA: 4}
    within = covered[request.level] <= covered[viewer.clearance]
    return works_on and (within or pusdatin or own)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppContext]:
    """A production installation holding one request of every unit, level and step, with a
    letter for each evaluated or received one and a submission per unit and status."""
    from ocenter.bootstrap import initialise
    from ocenter.config import load_settings

    home = tmp_path_factory.mktemp(f"worklists-{request.param}") / "home"
    with contextlib.ExitStack() as stack:
        url = (stack.enter_context(fresh_postgres_database()) if request.param == "postgresql"
               else f"sqlite:///{home / 'ocenter.db'}")
        environ = {"OCENTER_HOME": str(home), "OCENTER_MODE": "production",
                   "OCENTER_COOKIE_KEY": secrets.token_urlsafe(48), "DATABASE_URL": url}
        ctx = initialise(load_settings(environ), progress=lambda _message: None)
        stack.callback(ctx.engine.dispose)
        with Session(ctx.engine) as session:
            session.add(User(username="pengaju", name="Pengaju", password_hash="-", role=Role.UNIT,
                             unit_code="PPPOMN", clearance=Level.RAHASIA, scope=ScopeKind.UNIT))
            session.flush()
            for number, (unit, level, status) in enumerate(KINDS):
                started = START + timedelta(days=number % 40)
                session.add(DashboardRequest(
                    title=f"Dasbor {level.value} {unit} 100% {'_rahasia_' if number % 7 == 0 else ''}",
                    purpose="-", requesting_unit=unit, requested_by="pengaju", datasets=[],
                    level=level, audience=[], dashboard_id=f"dasbor-{number + 1:04d}",
                    status=status, created_at=started, step_started_at=started))
            session.flush()
            for request_ in session.exec(select(DashboardRequest)).all():
                if request_.status in (RequestStatus.EVALUATED, RequestStatus.RECEIVED):
                    session.add(Evaluation(request_id=request_.id, notes="-", evaluated_by="pengaju",
                                           letter_number=f"SURAT-{request_.id}", letter_text="-"))
            for unit, status in itertools.product(UNITS, SubmissionStatus):
                session.add(Submission(dataset_id="d", unit_code=unit, submitted_by="pengaju",
                                       level=Level.TERBATAS, original_name="a.csv", upload_sha256="0",
                                       upload_suffix=".csv", size_bytes=1, status=status))
            session.commit()
        yield ctx


def _all_pages(ctx: AppContext, viewer: Authority, **query: object) -> list[int]:
    ids: list[int] = []
    page = 1
    while True:
        got = worklists.request_page(ctx, viewer, worklists.RequestListQuery(page=page, page_size=7,
                                                                              **query))
        ids += [r.id for r in got.items]
        assert len(got.items) <= 7
        if page >= got.pages:
            assert got.total == len(ids)
            return ids
        page += 1


def test_every_viewer_pages_through_exactly_the_requests_the_rule_lists(filled):
    everyone = Authority(username="x", role=Role.ANALIS, clearance=Level.SANGAT_RAHASIA,
                         scope=ScopeKind.BPOM, unit_code="PUSDATIN")
    everything = list_requests(filled, everyone)
    assert len(everything) == len(KINDS)
    for viewer in _viewers():
        expected = [r.id for r in everything if listed_by_hand(viewer, r)]
        assert [r.id for r in list_requests(filled, viewer)] == expected, viewer.username
        assert _all_pages(filled, viewer) == expected, viewer.username


def test_a_page_past_the_end_shows_the_last_one_and_the_count_is_of_all_pages(filled):
    kepala = Authority(username="k", role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA, scope=ScopeKind.BPOM)
    last = worklists.request_page(filled, kepala, worklists.RequestListQuery(page=99, page_size=25))
    assert (last.total, last.pages, last.page) == (120, 5, 5)
    assert len(last.items) == 20
    assert last.items[-1].id == 1  # newest first: the last page ends with the first request


def test_steps_and_own_unit_filter_in_the_database(filled):
    analis = Authority(username="a", role=Role.ANALIS, clearance=Level.RAHASIA, scope=ScopeKind.BPOM,
                       unit_code="PUSDATIN")
    got = worklists.request_page(filled, analis, worklists.RequestListQuery(
        statuses=(RequestStatus.APPROVED, RequestStatus.BUILT), page_size=200))
    assert got.total == 3 * 4 * 2
    assert {r.status for r in got.items} == {RequestStatus.APPROVED, RequestStatus.BUILT}
    unit = Authority(username="u", role=Role.DIREKTUR, clearance=Level.TERBATAS, scope=ScopeKind.UNIT,
                     unit_code="PPPOMN")
    mine = worklists.request_page(filled, unit, worklists.RequestListQuery(own_unit_only=True, page_size=200))
    assert mine.total == 40 and {r.requesting_unit for r in mine.items} == {"PPPOMN"}


def test_search_finds_a_number_and_title_words_but_never_through_a_withheld_title(filled):
    analis = Authority(username="a", role=Role.ANALIS, clearance=Level.TERBATAS, scope=ScopeKind.BPOM,
                       unit_code="PUSDATIN")
    by_number = worklists.request_page(filled, analis, worklists.RequestListQuery(search="#45"))
    assert [r.id for r in by_number.items] == [45]
    # Request 45 is Rahasia: the analyst lists it by number (withheld), and its title words
    # find nothing, so a search cannot tell what a withheld title says.
    secret = worklists.request_page(filled, analis, worklists.RequestListQuery(search="dasbor rahasia"))
    assert secret.total == 0
    readable = worklists.request_page(filled, analis, worklists.RequestListQuery(search="DASBOR TERBATAS",
                                                                                 page_size=200))
    assert readable.total == 30 and all(r.level == Level.TERBATAS for r in readable.items)
    # A number too long for a request id (a phone or an NIP pasted in) searches titles only:
    # PostgreSQL's integer would refuse it.
    for typed in ("9999999999", "#12345678901"):
        assert worklists.request_page(filled, analis, worklists.RequestListQuery(search=typed)).total == 0
    # "%" and "_" are letters of the title, not patterns.
    assert worklists.request_page(filled, analis, worklists.RequestListQuery(search="100%")).total == 60
    underscored = worklists.request_page(filled, analis, worklists.RequestListQuery(search="_rahasia_",
                                                                                    page_size=200))
    assert {r.id for r in underscored.items} == {
        n + 1 for n, (_, level, _) in enumerate(KINDS)
        if n % 7 == 0 and level in (Level.TERBUKA, Level.TERBATAS)}


def test_the_step_counts_of_beranda_agree_with_counting_request_by_request(filled):
    today = date(2026, 11, 30)
    for viewer in _viewers()[::7]:
        by_hand = step_counts(list_requests(filled, viewer), today, "id")
        assert worklists_rows(filled, viewer, today) == by_hand, viewer.username


def worklists_rows(ctx: AppContext, viewer: Authority, today: date) -> list[dict]:
    from ocenter.procedure.overview import step_rows

    return step_rows(worklists.open_step_counts(ctx, viewer, today), "id")


def test_letters_are_paged_with_their_requests_and_only_those_the_viewer_lists(filled):
    for viewer in _viewers()[::5]:
        expected = [r.id for r in list_requests(filled, viewer)
                    if r.status in (RequestStatus.EVALUATED, RequestStatus.RECEIVED)]
        seen, page = [], 1
        while True:
            got = worklists.letter_page(filled, viewer, page=page, page_size=4)
            seen += [request.id for evaluation, request in got.items
                     if evaluation.request_id == request.id]
            if page >= got.pages:
                break
            page += 1
        assert seen == expected, viewer.username
    newest = worklists.newest_letters(filled, expected)
    assert {number: e.letter_number for number, e in newest.items()} == {
        number: f"SURAT-{number}" for number in expected}


def test_submissions_are_paged_as_the_sender_and_pusdatin_see_them(filled):
    for viewer in (Authority(username="v", role=Role.VERIFIKATOR, clearance=Level.RAHASIA,
                             scope=ScopeKind.BPOM, unit_code="PUSDATIN"),
                   Authority(username="u", role=Role.UPT, clearance=Level.TERBATAS,
                             scope=ScopeKind.UPT, unit_code="UPT-3201")):
        for status in (None, SubmissionStatus.RECEIVED):
            expected = [s.id for s in list_submissions(filled, viewer, status)]
            got = worklists.submission_page(filled, viewer, status, page=1, page_size=200)
            assert [s.id for s in got.items] == expected and got.total == len(expected)
            second = worklists.submission_page(filled, viewer, status, page=2, page_size=2)
            shown = min(2, -(-len(expected) // 2))  # a page past the end shows the last one
            assert second.page == shown
            assert [s.id for s in second.items] == expected[(shown - 1) * 2:shown * 2]


def test_an_older_database_gets_the_work_lists_indexes(tmp_path):
    url = f"sqlite:///{tmp_path / 'ocenter.db'}"
    make_engine(url).dispose()
    with make_engine(url).begin() as connection:  # as the version before migrations left it
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text("DROP INDEX ix_dashboardrequest_status"))
        connection.execute(text("DROP INDEX ix_evaluation_request_id"))
    engine = make_engine(url)
    names = {index["name"] for table in ("dashboardrequest", "evaluation")
             for index in inspect(engine).get_indexes(table)}
    assert {"ix_dashboardrequest_status", "ix_dashboardrequest_requesting_unit",
            "ix_evaluation_request_id"} <= names
    engine.dispose()
