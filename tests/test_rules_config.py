"""Settings rules: where an installation lives, which mode it runs in, that production refuses a
weak login secret, that secrets come from Streamlit's secrets before the environment, and that
the store's mirror remote can never smuggle an option or a transport helper to git."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from ocenter.config import Mode, Settings, check_store_remote, load_settings
from ocenter.errors import UserError

#: Exactly 32 characters with exactly 10 different ones: the least production takes.
STRONG_KEY = "0123456789" * 3 + "01"
PRODUCTION_DATABASE = "postgresql+psycopg://ocenter@db/ocenter"


def production(tmp_path: Path, **environ: str) -> dict[str, str]:
    return {"OCENTER_HOME": str(tmp_path), "OCENTER_MODE": "production",
            "DATABASE_URL": PRODUCTION_DATABASE, **environ}


# --- where and how an installation runs ---------------------------------------------------------


def test_by_default_an_installation_is_a_demo_in_var_with_sqlite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.home == tmp_path / "var"
    assert settings.mode == Mode.DEMO and settings.is_demo
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'ocenter.db'}"
    assert settings.store_path == tmp_path / "var" / "store.git"
    assert settings.max_upload_mb == 200 and settings.store_remote is None


def test_the_environment_names_home_database_upload_limit_and_remote(tmp_path):
    remote = tmp_path / "mirror.git"
    settings = load_settings({"OCENTER_HOME": str(tmp_path / "home"), "OCENTER_MODE": "demo",
                              "DATABASE_URL": "postgresql+psycopg://ocenter@db/ocenter",
                              "OCENTER_MAX_UPLOAD_MB": "50", "OCENTER_STORE_REMOTE": str(remote)})
    assert settings.home == tmp_path / "home"
    assert settings.database_url == "postgresql+psycopg://ocenter@db/ocenter"
    assert settings.max_upload_mb == 50 and settings.store_remote == str(remote)


def test_the_mode_is_read_in_any_case_and_an_unknown_one_is_refused(tmp_path):
    settings = load_settings(production(tmp_path, OCENTER_MODE=" Production ",
                                        OCENTER_COOKIE_KEY=STRONG_KEY))
    assert settings.mode == Mode.PRODUCTION and not settings.is_demo
    with pytest.raises(UserError) as refused:
        load_settings({"OCENTER_HOME": str(tmp_path), "OCENTER_MODE": "produksi"})
    assert refused.value.key == "config.bad_mode"
    assert refused.value.params == {"value": "produksi"}


def test_streamlit_secrets_come_before_the_environment(tmp_path):
    other_key = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
    settings = load_settings(
        production(tmp_path, OCENTER_COOKIE_KEY=other_key, DATABASE_URL="sqlite:///env.db"),
        {"OCENTER_COOKIE_KEY": STRONG_KEY, "DATABASE_URL": "sqlite:///secret.db"},
    )
    assert (settings.cookie_key, settings.database_url) == (STRONG_KEY, "sqlite:///secret.db")
    # An empty secret does not hide the environment's value.
    settings = load_settings(
        production(tmp_path, OCENTER_COOKIE_KEY=other_key, DATABASE_URL="sqlite:///env.db"),
        {"OCENTER_COOKIE_KEY": "", "DATABASE_URL": ""},
    )
    assert (settings.cookie_key, settings.database_url) == (other_key, "sqlite:///env.db")


def test_the_process_environment_is_read_when_none_is_given(tmp_path, monkeypatch):
    monkeypatch.setenv("OCENTER_HOME", str(tmp_path / "from-env"))
    monkeypatch.setenv("OCENTER_MODE", "demo")
    monkeypatch.setenv("OCENTER_COOKIE_KEY", STRONG_KEY)
    assert load_settings().home == tmp_path / "from-env"
    assert load_settings().cookie_key == STRONG_KEY


# --- production refuses weak secrets ------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "some_key", "abcdef", "demo", "changeme", "secret", "s" * 31,
                                 "Kz8-qW2!mR5xT7&bY4pN0vL3cJ6hD9"])  # 31 characters, 31 different
def test_production_refuses_a_known_or_short_cookie_key(tmp_path, key):
    with pytest.raises(UserError) as refused:
        load_settings(production(tmp_path, OCENTER_COOKIE_KEY=key))
    assert refused.value.key == "config.weak_cookie_key"
    assert refused.value.params == {"length": 32}
    assert not (tmp_path / "demo-cookie-key").exists()  # no random key is made up for production


def test_production_takes_a_key_of_32_characters(tmp_path):
    assert len(STRONG_KEY) == 32 and len(set(STRONG_KEY)) == 10
    settings = load_settings(production(tmp_path, OCENTER_COOKIE_KEY=STRONG_KEY))
    assert (settings.cookie_key, settings.database_url) == (STRONG_KEY, PRODUCTION_DATABASE)


def test_demo_mode_takes_a_given_key_and_otherwise_keeps_a_private_random_one(tmp_path):
    given = load_settings({"OCENTER_HOME": str(tmp_path / "a"), "OCENTER_COOKIE_KEY": "demo"})
    assert given.cookie_key == "demo" and not (tmp_path / "a" / "demo-cookie-key").exists()
    home = tmp_path / "new" / "nested" / "home"  # first start: the folders do not exist yet
    made = load_settings({"OCENTER_HOME": str(home)}).cookie_key
    key_file = home / "demo-cookie-key"
    assert key_file.read_text(encoding="utf-8") == made and len(made) >= 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600  # only the server's user reads it
    assert load_settings({"OCENTER_HOME": str(home)}).cookie_key == made


# --- the mirror remote --------------------------------------------------------------------------


@pytest.mark.parametrize("remote", [
    "https://gitlab.example.go.id/pusdatin/specs.git",
    "HTTPS://gitlab.example.go.id/pusdatin/specs.git",
    "ssh://git@gitlab.example.go.id/pusdatin/specs.git",
    "git://gitlab.example.go.id/specs.git",
    "file:///srv/git/specs.git",
    "git@gitlab.example.go.id:pusdatin/specs.git",
    "gitlab.example.go.id:specs.git",
])
def test_urls_and_scp_style_remotes_are_taken_as_written(remote):
    assert check_store_remote(f"  {remote} ") == remote


def test_a_folder_remote_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert check_store_remote("mirror/specs.git") == str(tmp_path / "mirror" / "specs.git")
    # A colon after the first slash is part of a folder name, not a host.
    assert check_store_remote("mirror/a:b/specs.git") == str(tmp_path / "mirror" / "a:b" / "specs.git")
    assert check_store_remote("with space/x") == str(tmp_path / "with space" / "x")
    assert check_store_remote("~tilde") == str(tmp_path / "~tilde")


@pytest.mark.parametrize("remote", [None, "", "   "])
def test_an_empty_remote_turns_mirroring_off(remote):
    assert check_store_remote(remote) is None


@pytest.mark.parametrize("remote", [
    "--upload-pack=touch /tmp/x",  # an option
    "-folder",
    "ext::sh -c touch% /tmp/x",  # a transport helper
    "fd::3",
    "ftp://example.go.id/specs.git",  # a scheme git should not use here
    "ssh://-oProxyCommand=touch@example.go.id/specs.git",  # an option as the user
    "ssh://git@-oProxyCommand=x/specs.git",  # an option as the host
    "https://[::1/specs.git",  # an unclosed IPv6 host
    "-oProxyCommand=x@host:specs.git",
    "git@-oProxyCommand=x:specs.git",  # scp style, an option as the host
    "a@b@-oProxyCommand=x:specs.git",  # the host is after the last @
    "git@-oProxyCommand=x:a@b:specs.git",  # the host ends at the first colon
    "mirror/specs\x1f.git",  # control characters
    "mirror/specs\x7f.git",
    "mirror/specs\n.git",
    "mirror/" + "a" * 1994,  # 2001 characters
])
def test_a_remote_git_could_read_as_an_option_or_a_helper_is_refused(remote):
    with pytest.raises(UserError) as refused:
        check_store_remote(remote)
    assert refused.value.key == "mirror.bad_remote"


def test_a_remote_of_2000_characters_is_still_taken():
    remote = "https://example.go.id/" + "a" * 1978
    assert len(remote) == 2000 and check_store_remote(remote) == remote


def test_settings_made_directly_check_the_remote_too(tmp_path):
    with pytest.raises(UserError) as refused:
        Settings(home=tmp_path, database_url="sqlite://", mode=Mode.DEMO, cookie_key=STRONG_KEY,
                 store_remote="ext::sh")
    assert refused.value.key == "mirror.bad_remote"
    with pytest.raises(UserError):
        load_settings({"OCENTER_HOME": str(tmp_path), "OCENTER_STORE_REMOTE": "ext::sh"})
