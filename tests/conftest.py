"""Shared fixtures: real installations (SQLite or PostgreSQL, a bare Git store, Parquet data)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocenter.accounts.authority import Authority
from ocenter.accounts.login import authority_of
from ocenter.bootstrap import initialise
from ocenter.config import Settings, load_settings
from ocenter.context import AppContext, open_context
from ocenter.store.spec_store import SpecStore

PROJECT_ROOT = Path(__file__).resolve().parent.parent
APPTEST_TIMEOUT = 120
POSTGRES_ADMIN_URL = os.environ.get(
    "OCENTER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def settings_for(home: Path, database_url: str | None = None, mode: str = "demo") -> Settings:
    """Settings of an installation living in ``home``."""
    environ = {"OCENTER_HOME": str(home), "OCENTER_MODE": mode}
    if database_url:
        environ["DATABASE_URL"] = database_url
    if mode == "production":
        environ["OCENTER_COOKIE_KEY"] = "k" * 48
    return load_settings(environ)


@pytest.fixture(scope="session", autouse=True)
def _private_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One temporary folder for the whole run, this process and every command and writer it
    starts; what the run leaves in it that is named ``ocenter-*`` is a leak and fails the run.

    A folder of its own, because other runs on the machine share the system's one.
    """
    folder = tmp_path_factory.mktemp("tmpdir")
    before_env, before_module = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = str(folder)
    tempfile.tempdir = str(folder)
    yield folder
    if before_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before_env
    tempfile.tempdir = before_module
    left = sorted(path.name for path in folder.iterdir() if path.name.startswith("ocenter-"))
    if left:
        pytest.fail(f"the test run left {len(left)} of ours in its temporary folder: {left[:5]}")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo installation made through the real first start; tests get copies of it."""
    home = tmp_path_factory.mktemp("demo-template") / "home"
    ctx = initialise(settings_for(home), demo=True, progress=lambda _message: None)
    ctx.engine.dispose()
    return home


@pytest.fixture
def demo_home(demo_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo installation's folder."""
    home = tmp_path / "home"
    shutil.copytree(demo_template, home)
    return home


@pytest.fixture
def demo_ctx(demo_home: Path) -> Iterator[AppContext]:
    """An opened private demo installation (SQLite)."""
    ctx = open_context(settings_for(demo_home))
    yield ctx
    ctx.engine.dispose()


@pytest.fixture
def as_user(demo_ctx: AppContext):  # noqa: ANN201 - a small factory
    """``as_user("direktur")`` gives that demo user's authority, read from the database."""

    def _authority(username: str) -> Authority:
        authority = authority_of(demo_ctx.engine, username, production=False)
        assert authority is not None, username
        return authority

    return _authority


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards: its URL."""
    sqlalchemy = pytest.importorskip("sqlalchemy")
    name = f"ocenter_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL on 127.0.0.1:5432 is needed for this test: {error}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(
                sqlalchemy.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"
                ),
                {"name": name},
            )
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database on the local server, dropped afterwards."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture
def app(demo_home: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - AppTest
    """The app through Streamlit's AppTest, on a private demo installation, at its login page."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("OCENTER_HOME", str(demo_home))
    monkeypatch.setenv("OCENTER_MODE", "demo")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    at = AppTest.from_file(str(PROJECT_ROOT / "Home.py"), default_timeout=APPTEST_TIMEOUT)
    at.run()
    return at


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store.git"


@pytest.fixture
def store(store_path: Path) -> SpecStore:
    """A seeded bare store: one contract and one approved dashboard (dash-one) on main, as the
    store tests build them (``tests/test_mirror.py`` has its own, empty one)."""
    from tests.test_store import PUSDATIN, seed_files

    spec_store = SpecStore.open_or_init(store_path)
    assert spec_store.seed(PUSDATIN, seed_files(), "Seed") is not None
    return spec_store
