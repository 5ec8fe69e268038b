"""Production mode end to end, and the demo label on every page of a demo.

Production is what BPOM runs: no demo users, no demo content, no demo label, secrets that must
be set, and nothing a visitor can do in the browser to put the server back into demo mode.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from ocenter.accounts.admin import add_user
from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Level, Role, ScopeKind
from ocenter.bootstrap import demo_users
from ocenter.config import MIN_COOKIE_KEY_LENGTH, load_settings
from ocenter.context import open_context
from ocenter.database import make_engine
from ocenter.i18n import t
from ocenter.models import DashboardRequest, DatasetVersion, Submission, User
from ocenter.navigation import PageEntry, pages_for
from tests.conftest import APPTEST_TIMEOUT, PROJECT_ROOT, fresh_postgres_database
from tests.test_app import _login, _texts, logged_in_session

COOKIE_KEY = secrets.token_urlsafe(48)
PASSWORD = "sandi-produksi-pusdatin"
BANNERS = (t("app.demo_banner", "id"), t("app.demo_banner", "en"))
DEMO_HINT = t("login.demo_hint", "id")
#: What the app reads from the environment; each test sets exactly the ones it means.
SETTING_VARIABLES = ("OCENTER_HOME", "OCENTER_MODE", "OCENTER_COOKIE_KEY", "DATABASE_URL",
                     "OCENTER_STORE_REMOTE")

#: One demo user of each role, as the README lists them (the first where a role has several).
_DEMO_USER: dict[Role, dict] = {}
for _user in demo_users():
    _DEMO_USER.setdefault(_user["role"], _user)
#: The production installation's real users: one per role, the direktur made on the command line.
_REAL_USER = {role: f"pengguna.{role.value}" for role in Role}
_CLI_ROLE = Role.DIREKTUR
#: Every page each role can open, as navigation gives it to that role.
_ROLE_PAGES = [(role, entry) for role in Role for entry in pages_for(role)]
_ROLE_PAGE_IDS = [f"{role.value}-{entry.key}" for role, entry in _ROLE_PAGES]


def _production_environ(home: Path, database_url: str) -> dict[str, str]:
    return {"OCENTER_HOME": str(home), "OCENTER_MODE": "production",
            "OCENTER_COOKIE_KEY": COOKIE_KEY, "DATABASE_URL": database_url}


def _sqlite_url(home: Path) -> str:
    return f"sqlite:///{home / 'ocenter.db'}"


def _use_settings(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str]) -> None:
    """Exactly ``environ`` as the app's settings, as the server's environment would give them."""
    for name in SETTING_VARIABLES:
        if name in environ:
            monkeypatch.setenv(name, environ[name])
        else:
            monkeypatch.delenv(name, raising=False)


def _app(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], script: str = "Home.py") -> AppTest:
    """The app with exactly ``environ`` as its settings, not yet run."""
    _use_settings(monkeypatch, environ)
    return AppTest.from_file(str(PROJECT_ROOT / script), default_timeout=APPTEST_TIMEOUT)


def _ocenter(environ: dict[str, str], *args: str, stdin: str | None = None):  # noqa: ANN202
    """``python -m ocenter ...`` as an operator runs it, with exactly ``environ`` as settings."""
    env = {k: v for k, v in os.environ.items() if k not in SETTING_VARIABLES}
    env |= {"PYTHONPATH": str(PROJECT_ROOT), **environ}
    return subprocess.run([sys.executable, "-m", "ocenter", *args], capture_output=True,
                          text=True, env=env, cwd=PROJECT_ROOT, input=stdin, timeout=300)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning]


def _titles(at: AppTest) -> list[str]:
    return [title.value for title in at.title]


def _assert_no_demo_label(at: AppTest) -> None:
    shown = _texts(at)
    assert not any(banner in shown for banner in BANNERS), shown
    assert DEMO_HINT not in shown
    assert _wall_labels(at) == 0


def _on_the_wall(role: Role, entry: PageEntry) -> bool:
    """The wall screen's display is the wall: no title, and in demo mode a small corner label."""
    return role == Role.LAYAR and entry.key == "tampilan"


def _wall_labels(at: AppTest) -> int:
    return sum(str(h.proto.body).count('class="ocenter-demo"') for h in at.get("html"))


def _assert_no_demo_content(environ: dict[str, str]) -> None:
    """Nobody can log in yet and nothing was sent, built or stored: the database and the store
    hold only what a production first start makes (the units and an empty main)."""
    engine = make_engine(environ["DATABASE_URL"])
    try:
        with Session(engine) as session:
            assert session.exec(select(User.username)).all() == []
            assert session.exec(select(DashboardRequest.id)).all() == []
            assert session.exec(select(Submission.id)).all() == []
            assert session.exec(select(DatasetVersion.id)).all() == []
    finally:
        engine.dispose()
    store = ["git", "--git-dir", str(Path(environ["OCENTER_HOME"]) / "store.git")]
    refs = subprocess.run([*store, "for-each-ref", "--format=%(refname)"], capture_output=True,
                          text=True, check=True).stdout.split()
    assert refs == ["refs/heads/main"]
    files = subprocess.run([*store, "ls-tree", "-r", "--name-only", "main"], capture_output=True,
                           text=True, check=True).stdout.split()
    assert files == ["README.md"]
    datasets = Path(environ["OCENTER_HOME"]) / "datasets"
    assert not datasets.exists() or not any(datasets.iterdir())


# --- installations ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A production installation on PostgreSQL, set up the way the README tells an operator:
    ``init``, then real users, one per role (the direktur with ``user-add``). Its environment."""
    with fresh_postgres_database() as database_url:
        environ = _production_environ(tmp_path_factory.mktemp("production") / "home", database_url)
        init = _ocenter(environ, "init")
        assert init.returncode == 0, init.stderr
        cli_user = _DEMO_USER[_CLI_ROLE]
        added = _ocenter(environ, "user-add", _REAL_USER[_CLI_ROLE], "--name", "Rina Wulandari",
                         "--role", _CLI_ROLE.value, "--clearance", cli_user["clearance"].value,
                         "--scope", cli_user["scope"].value, "--unit", cli_user["unit_code"],
                         "--password-stdin", stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
        ctx = open_context(load_settings(environ))
        for role, like in _DEMO_USER.items():
            if role != _CLI_ROLE:
                add_user(ctx, None, username=_REAL_USER[role], name=f"Pengguna {role.value}",
                         role=role, clearance=like["clearance"], scope=like["scope"],
                         unit_code=like["unit_code"], password=PASSWORD)
        ctx.engine.dispose()
        yield environ


@pytest.fixture
def converted(demo_home: Path) -> dict[str, str]:
    """A demo installation switched to production: its demo users, with the demo password,
    are still in the database. The environment that runs it in production."""
    return _production_environ(demo_home, _sqlite_url(demo_home))


# --- production: who may log in ---------------------------------------------------------------


@pytest.mark.parametrize("username", ["kepala", "analis", "admin", "layar"])
def test_a_demo_user_with_the_demo_password_cannot_log_in(converted, monkeypatch, username):
    at = _app(monkeypatch, converted)
    at.run()
    at = _login(at, username)
    assert not at.exception, at.exception
    assert _errors(at) == [t("login.failed", "id")]
    assert [w.label for w in at.text_input] == [t("login.username", "id"), t("login.password", "id")]
    assert t("page.beranda", "id") not in _titles(at)
    _assert_no_demo_label(at)


def test_a_user_added_on_the_command_line_logs_in_and_sees_no_demo_label(production, monkeypatch):
    at = _app(monkeypatch, production)
    at.run()
    assert not at.exception, at.exception
    _assert_no_demo_label(at)
    # The run of the login goes through the router: its sidebar says who is logged in and
    # offers the language and logout, nothing that could change the mode.
    at = _login(at, _REAL_USER[_CLI_ROLE], PASSWORD, settle=False)
    assert not at.exception, at.exception
    assert "**Rina Wulandari**" in [m.value for m in at.sidebar.markdown]
    assert [w.key for w in (*at.sidebar.button, *at.sidebar.button_group)] == [
        "ocenter_logout", "ocenter_lang_switch"]
    _assert_no_demo_label(at)
    at.run()  # the login cookie component's rerun, as in a browser
    assert not at.exception, at.exception
    assert _errors(at) == []
    assert _titles(at) == [t("page.beranda", "id")]
    _assert_no_demo_label(at)


@pytest.mark.parametrize(("role", "entry"), _ROLE_PAGES, ids=_ROLE_PAGE_IDS)
def test_no_production_page_carries_the_demo_label(production, monkeypatch, role: Role,
                                                    entry: PageEntry):
    at = _app(monkeypatch, production)
    at.run()
    at = _login(at, _REAL_USER[role], PASSWORD)
    at.switch_page(entry.path).run()
    assert not at.exception, at.exception
    if not _on_the_wall(role, entry):
        assert t(entry.title_key, "id") in _titles(at)
    _assert_no_demo_label(at)


# --- production: secrets ----------------------------------------------------------------------


@pytest.mark.parametrize("cookie_key", [None, "", "some_key", "pendek-sekali", "k" * 48, " " * 40,
                                        "abcd" * 10],
                         ids=["missing", "empty", "library-example", "short", "one-character",
                              "blanks", "four-characters"])
def test_production_without_a_strong_cookie_key_stops_with_its_message(tmp_path, monkeypatch,
                                                                       cookie_key):
    home = tmp_path / "home"
    environ = _production_environ(home, _sqlite_url(home))
    if cookie_key is None:
        del environ["OCENTER_COOKIE_KEY"]
    else:
        environ["OCENTER_COOKIE_KEY"] = cookie_key
    at = _app(monkeypatch, environ)
    at.run()
    assert not at.exception, at.exception
    assert _errors(at) == [t("config.weak_cookie_key", "id", length=MIN_COOKIE_KEY_LENGTH)]
    assert not at.text_input, "no login form without the secret"
    assert not home.exists(), "nothing may start on a default key"


def test_production_without_a_database_url_stops_with_its_message(tmp_path, monkeypatch):
    home = tmp_path / "home"
    environ = _production_environ(home, "")
    del environ["DATABASE_URL"]
    at = _app(monkeypatch, environ)
    at.run()
    assert not at.exception, at.exception
    assert _errors(at) == [t("config.database_url_required", "id")]
    assert not at.text_input
    assert not home.exists(), "no SQLite database may stand in for the configured one"


def test_production_secrets_are_read_from_streamlit_secrets(tmp_path, monkeypatch, postgres_url):
    environ = {"OCENTER_HOME": str(tmp_path / "home"), "OCENTER_MODE": "production"}
    at = _app(monkeypatch, environ)
    at.secrets["OCENTER_COOKIE_KEY"] = COOKIE_KEY
    at.secrets["DATABASE_URL"] = postgres_url
    at.run()
    assert not at.exception, at.exception
    assert _errors(at) == []
    assert [w.label for w in at.text_input] == [t("login.username", "id"), t("login.password", "id")]
    _assert_no_demo_label(at)
    _assert_no_demo_content({**environ, "DATABASE_URL": postgres_url})


# --- production: no demo content --------------------------------------------------------------


def test_the_apps_first_start_in_production_loads_no_demo_content(tmp_path, monkeypatch,
                                                                   postgres_url):
    environ = _production_environ(tmp_path / "home", postgres_url)
    at = _app(monkeypatch, environ)
    at.run()
    assert not at.exception, at.exception
    assert _errors(at) == []
    assert at.title[0].value == t("app.title", "id")
    _assert_no_demo_label(at)
    _assert_no_demo_content(environ)


def test_init_demo_in_production_is_refused_and_loads_nothing(tmp_path, postgres_url):
    environ = _production_environ(tmp_path / "home", postgres_url)
    refusal = f"error: {t('config.no_demo_in_production', 'en')}\n"
    first = _ocenter(environ, "init", "--demo")
    assert (first.returncode, first.stderr) == (2, refusal)
    assert not (tmp_path / "home").exists()
    ready = _ocenter(environ, "init")
    assert ready.returncode == 0, ready.stderr
    assert "(production mode)" in ready.stdout
    again = _ocenter(environ, "init", "--demo")
    assert (again.returncode, again.stderr) == (2, refusal)
    _assert_no_demo_content(environ)


# --- production: no way back into demo ----------------------------------------------------------


@pytest.mark.parametrize("query", [{"demo": "1"}, {"mode": "demo"}, {"OCENTER_MODE": "demo"}],
                         ids=["demo", "mode", "OCENTER_MODE"])
def test_a_query_parameter_does_not_turn_demo_mode_on(converted, monkeypatch, query):
    at = _app(monkeypatch, converted)
    at.query_params.update(query)
    at.run()
    assert not at.exception, at.exception
    _assert_no_demo_label(at)
    at = _login(at, "kepala")
    assert _errors(at) == [t("login.failed", "id")]
    _assert_no_demo_label(at)


def test_a_session_that_claims_a_demo_user_is_refused(converted, monkeypatch):
    """What a session says of its user (or a forged cookie would put there) is not trusted: a
    run is logged in only by a session the database holds open, for a user who may log in."""
    at = _app(monkeypatch, converted)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "kepala"
    at.session_state["name"] = "Kepala BPOM"
    at.session_state["ocenter_viewer"] = Authority(
        username="kepala", role=Role.KEPALA, clearance=Level.SANGAT_RAHASIA, scope=ScopeKind.BPOM)
    at.run()
    assert not at.exception, at.exception
    assert t("page.beranda", "id") not in _titles(at)
    assert [w.label for w in at.text_input] == [t("login.username", "id"), t("login.password", "id")]
    # Refused at the door: no name or logout of a session in the sidebar, only the language.
    assert not at.sidebar.markdown and not at.sidebar.button
    _assert_no_demo_label(at)


def test_a_demo_users_session_ends_when_the_server_runs_in_production(converted, monkeypatch):
    at = _app(monkeypatch, converted)
    at.session_state["ocenter_session"] = logged_in_session(Path(converted["OCENTER_HOME"]), "kepala")
    at.run()
    assert not at.exception, at.exception
    assert _errors(at) == []
    assert _warnings(at) == [t("login.not_allowed", "id")]
    assert t("page.beranda", "id") not in _titles(at)
    assert "ocenter_session" not in at.session_state
    _assert_no_demo_label(at)


@pytest.mark.parametrize("mode", ["demo", "production"])
def test_a_page_run_directly_lets_a_demo_user_in_only_in_demo_mode(demo_home, monkeypatch, mode):
    environ = {**_production_environ(demo_home, _sqlite_url(demo_home)), "OCENTER_MODE": mode}
    at = _app(monkeypatch, environ, "pages/beranda.py")
    at.session_state["ocenter_session"] = logged_in_session(demo_home, "kepala")
    at.run()
    assert not at.exception, at.exception
    if mode == "demo":
        assert _titles(at) == [t("page.beranda", "id")]
        assert [w.value for w in at.warning] == [BANNERS[0]]
    else:
        assert _warnings(at) == [t("login.not_allowed", "id")]
        assert t("page.beranda", "id") not in _titles(at)
        assert "ocenter_session" not in at.session_state


def test_the_mode_is_read_from_the_environment_on_every_run(app, demo_home, monkeypatch):
    """A session logged in while the server ran as a demo loses the demo user the moment the
    server runs in production: nothing of the mode is kept in the session."""
    at = _login(app, "kepala")
    assert _titles(at) == [t("page.beranda", "id")]
    assert BANNERS[0] in [w.value for w in at.warning]
    _use_settings(monkeypatch, _production_environ(demo_home, _sqlite_url(demo_home)))
    at.run()
    assert not at.exception, at.exception
    assert _warnings(at) == [t("login.not_allowed", "id")]
    assert t("page.beranda", "id") not in _titles(at)
    _assert_no_demo_label(at)


# --- demo: the label everywhere ---------------------------------------------------------------


@pytest.mark.parametrize(("role", "entry"), _ROLE_PAGES, ids=_ROLE_PAGE_IDS)
def test_every_demo_page_carries_the_demo_label_once(app, role: Role, entry: PageEntry):
    # Pages are opened as test_app.py opens them; AppTest then runs most page files without the
    # router (as a server's first run may), so the label must come with the page itself.
    at = _login(app, _DEMO_USER[role]["username"])
    at.switch_page(entry.path).run()
    assert not at.exception, at.exception
    if _on_the_wall(role, entry):
        assert not _titles(at) and _wall_labels(at) == 1  # the wall's small label, once
        return
    assert t(entry.title_key, "id") in _titles(at)
    assert [w.value for w in at.warning].count(BANNERS[0]) == 1
