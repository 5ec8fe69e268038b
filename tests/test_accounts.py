"""Login rules: passwords, production mode, and authority re-read from the database."""

from __future__ import annotations

import secrets

import pytest
from sqlmodel import Session, select

from ocenter.accounts.levels import Level
from ocenter.accounts.login import authority_of, check_password, hash_password, login_allowed
from ocenter.bootstrap import DEMO_PASSWORD
from ocenter.config import load_settings
from ocenter.errors import UserError
from ocenter.models import User


def test_passwords_are_bcrypt_hashes_and_long_ones_are_refused_not_crashed():
    stored = hash_password("kata-sandi-kuat")
    assert stored.startswith("$2b$") and "kata-sandi-kuat" not in stored
    assert check_password("kata-sandi-kuat", stored)
    assert not check_password("kata-sandi-salah", stored)
    with pytest.raises(UserError) as too_long:
        hash_password("x" * 73)
    assert "72" in too_long.value.text("id")
    assert not check_password("x" * 100, stored)


def test_production_refuses_a_missing_or_weak_cookie_key(tmp_path):
    base = {"OCENTER_HOME": str(tmp_path), "OCENTER_MODE": "production",
            "DATABASE_URL": "postgresql+psycopg://ocenter@db/ocenter"}
    for key in ("", "some_key", "short", "k" * 40, "rahasia!" * 5):
        with pytest.raises(UserError) as weak:
            load_settings({**base, "OCENTER_COOKIE_KEY": key})
        assert weak.value.key == "config.weak_cookie_key"
    with pytest.raises(UserError) as missing:
        load_settings(base)
    assert missing.value.key == "config.weak_cookie_key"
    key = secrets.token_hex(16)  # 32 characters of 16 kinds: the weakest random key accepted
    assert load_settings({**base, "OCENTER_COOKIE_KEY": key}).cookie_key == key


def test_production_refuses_to_fall_back_to_a_local_database(tmp_path):
    base = {"OCENTER_HOME": str(tmp_path), "OCENTER_MODE": "production",
            "OCENTER_COOKIE_KEY": secrets.token_urlsafe(48)}
    for url in (None, "", "  "):
        environ = base if url is None else {**base, "DATABASE_URL": url}
        with pytest.raises(UserError) as missing:
            load_settings(environ)
        assert missing.value.key == "config.database_url_required"
    from_secrets = load_settings(base, {"DATABASE_URL": "postgresql+psycopg://ocenter@db/ocenter"})
    assert from_secrets.database_url == "postgresql+psycopg://ocenter@db/ocenter"
    assert load_settings({"OCENTER_HOME": str(tmp_path)}).database_url == (
        f"sqlite:///{tmp_path.resolve() / 'ocenter.db'}")


def test_demo_mode_makes_its_own_random_cookie_key_once(tmp_path):
    first = load_settings({"OCENTER_HOME": str(tmp_path)}).cookie_key
    again = load_settings({"OCENTER_HOME": str(tmp_path)}).cookie_key
    other = load_settings({"OCENTER_HOME": str(tmp_path / "other")}).cookie_key
    assert first == again and first != other and len(first) >= 32


def test_production_refuses_demo_users(demo_ctx):
    with Session(demo_ctx.engine) as session:
        kepala = session.get(User, "kepala")
    assert login_allowed(kepala, production=False) and not login_allowed(kepala, production=True)
    assert authority_of(demo_ctx.engine, "kepala", production=False) is not None
    assert authority_of(demo_ctx.engine, "kepala", production=True) is None


def test_authority_changes_take_effect_on_the_next_page_run(demo_ctx):
    assert authority_of(demo_ctx.engine, "deputi", production=False).clearance == Level.RAHASIA
    with Session(demo_ctx.engine) as session:
        user = session.get(User, "deputi")
        user.clearance = Level.TERBATAS
        session.commit()
    assert authority_of(demo_ctx.engine, "deputi", production=False).clearance == Level.TERBATAS
    with Session(demo_ctx.engine) as session:
        session.get(User, "deputi").active = False
        session.commit()
    assert authority_of(demo_ctx.engine, "deputi", production=False) is None


def test_demo_users_share_the_documented_password(demo_ctx):
    with Session(demo_ctx.engine) as session:
        hashes = {user.username: user.password_hash for user in session.exec(select(User)).all()}
    expected = {"kepala", "deputi", "direktur", "kabalai", "tamu", "analis", "verifikator",
                "unit", "upt", "admin", "layar"}
    assert expected <= set(hashes)
    assert all(check_password(DEMO_PASSWORD, hashes[name]) for name in expected)
