"""Settings of one OCenter installation, read from the environment (and Streamlit secrets via the UI)."""

from __future__ import annotations

import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator

from ocenter.errors import UserError

#: Cookie keys that must never protect a production login: the library's example and ours.
KNOWN_WEAK_COOKIE_KEYS = frozenset({"", "some_key", "abcdef", "demo", "changeme", "secret"})
MIN_COOKIE_KEY_LENGTH = 32
#: A key of one character repeated (or a short word repeated) is long but guessable; a random
#: key of 32 characters, even in hex, has about 14 different characters.
MIN_COOKIE_KEY_DISTINCT_CHARACTERS = 10
#: URL schemes the store may be mirrored to (no transport helpers such as ext::).
STORE_REMOTE_SCHEMES = frozenset({"https", "http", "ssh", "git", "file"})
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


class Mode(StrEnum):
    """Whether this installation shows demo content and accepts demo users."""

    DEMO = "demo"
    PRODUCTION = "production"


#: The signatory's title when OCENTER_PUSDATIN_HEAD_TITLE is not set.
PUSDATIN_HEAD_TITLE = "Kepala Pusat Data dan Informasi Obat dan Makanan"


class Signatory(BaseModel):
    """The official who signs Pusdatin's letters (the SOP's step 9 letter to the unit)."""

    name: str = Field(description="Full name with academic titles, as printed under the signature.",
                      examples=["Dr. Siti Rahmawati, S.Si., M.Kom."])
    nip: str = Field(default="", description="Nomor Induk Pegawai (civil-service number); may be empty.",
                     examples=["197501012000032001"])
    title: str = Field(default=PUSDATIN_HEAD_TITLE, description="Position printed above the name.")


class SmtpSettings(BaseModel):
    """The mail server reminders and escalations are e-mailed through."""

    host: str = Field(description="OCENTER_SMTP_HOST: the server's name or address.",
                      examples=["smtp.pom.go.id"])
    port: int = Field(default=25, description="OCENTER_SMTP_PORT (25 unless set).")
    from_address: str = Field(description="OCENTER_SMTP_FROM: the sender address of the mails.",
                              examples=["ocenter@pom.go.id"])
    user: str | None = Field(default=None, description="OCENTER_SMTP_USER; None: no login.")
    password: str | None = Field(default=None, description="OCENTER_SMTP_PASSWORD.")
    starttls: bool = Field(default=False, description="OCENTER_SMTP_STARTTLS=1: STARTTLS first.")
    timeout_seconds: float = Field(default=20.0, description="How long one connection may wait.")


class Settings(BaseModel):
    """Everything that differs between installations."""

    home: Path = Field(description="OCENTER_HOME: folder for the database, the store and data.")
    database_url: str = Field(description="DATABASE_URL: SQLAlchemy URL; SQLite under home by default.")
    mode: Mode = Field(description="OCENTER_MODE: demo (default) or production.")
    cookie_key: str = Field(description="Secret that signs the login cookie (OCENTER_COOKIE_KEY).")
    cookie_name: str = Field(default="ocenter_login", description="Name of the login cookie.")
    cookie_expiry_days: float = Field(
        default=0.5, description="Lifetime of the login cookie, and how long a login session "
        "lives unused on the server."
    )
    client_address_header: str | None = Field(
        default=None,
        description="OCENTER_CLIENT_ADDRESS_HEADER: the header in which the reverse proxy in front "
        "of the app passes the browser's address, for throttling failed logins per client; set it "
        "only when every request comes through that proxy (a browser can send any header).",
        examples=["X-Real-IP", "X-Forwarded-For"],
    )
    max_upload_mb: int = Field(default=200, description="Largest data file accepted, in MB.")
    store_remote: str | None = Field(
        default=None,
        description="OCENTER_STORE_REMOTE: Git remote (URL or path) the store's main and mock-up "
        "branches are pushed to after each change; None: off.",
        examples=["https://gitlab.example.go.id/pusdatin/ocenter-specs.git", "/srv/git/specs.git"],
    )

    store_location: Path | None = Field(
        default=None,
        description="OCENTER_STORE_PATH: the bare Git repository of specs and contracts, when it "
        "is not OCENTER_HOME/store.git; replicas with homes of their own point it at one "
        "repository on shared storage (see README, Replicas and storage).",
        examples=["/mnt/ocenter-shared/store.git"],
    )
    datasets_url: str | None = Field(
        default=None,
        description="OCENTER_DATASETS_URL: the S3-compatible bucket and prefix accepted datasets "
        "and waiting uploads are kept in, shared by every replica (OCENTER_HOME then holds a "
        "cache of it); None: they are kept under OCENTER_HOME only. Credentials come from the "
        "standard AWS_* variables, never from here.",
        examples=["s3://bpom-ocenter/produksi"],
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="OCENTER_S3_ENDPOINT_URL: the http(s) address of an S3-compatible server "
        "(MinIO, Ceph); None: AWS S3.",
        examples=["https://minio.pom.go.id:9000"],
    )
    s3_region: str | None = Field(
        default=None,
        description="OCENTER_S3_REGION: the bucket's region; None: the SDK's own (AWS_REGION).",
        examples=["ap-southeast-3"],
    )

    letter_signatory: Signatory | None = Field(
        default=None,
        description="Who signs the surat penyampaian informasi: the head of Pusdatin, from "
        "OCENTER_PUSDATIN_HEAD_NAME, _NIP and _TITLE (a demo name in demo mode); None: not "
        "configured, and letters are refused until it is.",
    )

    smtp: SmtpSettings | None = Field(
        default=None, description="The mail server reminders are e-mailed through, from "
        "OCENTER_SMTP_HOST and the settings beside it; None: reminders stay in the app.")
    pusdatin_heads: list[str] = Field(
        default_factory=list,
        description="OCENTER_PUSDATIN_HEADS: usernames (comma-separated) of Pusdatin's heads, who "
        "receive the escalation of an overdue step; empty: in demo mode the analysts.",
        examples=[["kapusdatin", "kabid-tik"]])

    @field_validator("store_remote")
    @classmethod
    def _remote_is_safe(cls, value: str | None) -> str | None:
        return check_store_remote(value)

    @property
    def store_path(self) -> Path:
        """The bare Git repository holding specs and contracts."""
        return self.store_location or self.home / "store.git"

    @property
    def is_demo(self) -> bool:
        """True in demo mode."""
        return self.mode == Mode.DEMO


def load_settings(
    environ: dict[str, str] | None = None, secret_values: dict[str, str] | None = None
) -> Settings:
    """Settings from environment variables, with ``secret_values`` (Streamlit secrets) first for secrets.

    In production mode a missing or weak cookie key and a missing ``DATABASE_URL`` are refused
    (``UserError``): nothing falls back to a default there. In demo mode a random key is made
    once per installation and kept in ``$OCENTER_HOME/demo-cookie-key``, and the database is
    SQLite under ``OCENTER_HOME`` unless ``DATABASE_URL`` says otherwise.
    """
    env = dict(os.environ if environ is None else environ)
    secret_values = secret_values or {}
    home = Path(env.get("OCENTER_HOME", "var")).resolve()
    mode_text = env.get("OCENTER_MODE", Mode.DEMO.value).strip().lower()
    if mode_text not in {m.value for m in Mode}:
        raise UserError("config.bad_mode", value=mode_text)
    mode = Mode(mode_text)
    database_url = (secret_values.get("DATABASE_URL") or env.get("DATABASE_URL") or "").strip()
    cookie_key = secret_values.get("OCENTER_COOKIE_KEY") or env.get("OCENTER_COOKIE_KEY") or ""
    if mode == Mode.PRODUCTION:
        if is_weak_cookie_key(cookie_key):
            raise UserError("config.weak_cookie_key", length=MIN_COOKIE_KEY_LENGTH)
        # A forgotten DATABASE_URL would otherwise start an empty SQLite database beside the
        # real one, where users added on the command line could never log in to the app.
        if not database_url:
            raise UserError("config.database_url_required")
    else:
        database_url = database_url or f"sqlite:///{home / 'ocenter.db'}"
        cookie_key = cookie_key or _demo_cookie_key(home)
    return Settings(
        home=home,
        database_url=database_url,
        mode=mode,
        cookie_key=cookie_key,
        max_upload_mb=int(env.get("OCENTER_MAX_UPLOAD_MB", "200")),
        store_remote=check_store_remote(env.get("OCENTER_STORE_REMOTE")),
        client_address_header=(env.get("OCENTER_CLIENT_ADDRESS_HEADER") or "").strip() or None,
        store_location=_optional_path(env.get("OCENTER_STORE_PATH")),
        **_bucket_settings(env),
        letter_signatory=_signatory(env, demo=mode == Mode.DEMO),
        smtp=_smtp(env, secret_values),
        pusdatin_heads=[name.strip().lower() for name in env.get("OCENTER_PUSDATIN_HEADS", "").split(",")
                        if name.strip()],
    )


def _optional_path(value: str | None) -> Path | None:
    """An absolute path from a setting, or None when it is empty."""
    text = (value or "").strip()
    return Path(text).resolve() if text else None


def _bucket_settings(env: dict[str, str]) -> dict[str, str | None]:
    """OCENTER_DATASETS_URL and the S3 settings beside it, checked (``UserError`` when the URL
    or endpoint cannot be used); all None when no bucket is set."""
    from ocenter.storage import parse_bucket_url

    url = (env.get("OCENTER_DATASETS_URL") or "").strip() or None
    endpoint = (env.get("OCENTER_S3_ENDPOINT_URL") or "").strip() or None
    region = (env.get("OCENTER_S3_REGION") or "").strip() or None
    if url is None:
        return {"datasets_url": None, "s3_endpoint_url": None, "s3_region": None}
    parse_bucket_url(url, endpoint, region)
    return {"datasets_url": url, "s3_endpoint_url": endpoint, "s3_region": region}


def _smtp(env: dict[str, str], secret_values: dict[str, str]) -> SmtpSettings | None:
    """The mail server from ``OCENTER_SMTP_*``, or None when no host is set."""
    host = (env.get("OCENTER_SMTP_HOST") or "").strip()
    if not host:
        return None
    password = secret_values.get("OCENTER_SMTP_PASSWORD") or env.get("OCENTER_SMTP_PASSWORD")
    return SmtpSettings(
        host=host, port=int(env.get("OCENTER_SMTP_PORT") or 25),
        from_address=(env.get("OCENTER_SMTP_FROM") or f"ocenter@{host}").strip(),
        user=(env.get("OCENTER_SMTP_USER") or "").strip() or None, password=password or None,
        starttls=(env.get("OCENTER_SMTP_STARTTLS") or "").strip().lower() in {"1", "true", "yes"},
    )


def _signatory(env: dict[str, str], *, demo: bool) -> Signatory | None:
    """The head of Pusdatin as configured; in demo mode a demo name stands in when none is."""
    name = (env.get("OCENTER_PUSDATIN_HEAD_NAME") or "").strip()
    if not name and not demo:
        return None
    return Signatory(
        name=name or "Kepala Pusdatin (Demo)",
        nip=(env.get("OCENTER_PUSDATIN_HEAD_NIP") or "").strip(),
        title=(env.get("OCENTER_PUSDATIN_HEAD_TITLE") or "").strip() or PUSDATIN_HEAD_TITLE,
    )


def is_weak_cookie_key(key: str) -> bool:
    """True when ``key`` may not sign production logins: known, short, or hardly random."""
    return (
        key in KNOWN_WEAK_COOKIE_KEYS
        or len(key) < MIN_COOKIE_KEY_LENGTH
        or len(set(key)) < MIN_COOKIE_KEY_DISTINCT_CHARACTERS
    )


def check_store_remote(value: str | None) -> str | None:
    """The store remote as git gets it, or None when empty; ``UserError`` when it is unsafe.

    Accepted: an http(s)://, ssh://, git:// or file:// URL, ``user@host:path``, or a folder path
    (made absolute). Refused: anything git could read as an option (a leading ``-``, also in
    the user or host part), transport helpers (``ext::``, ``fd::``), control characters.
    """
    text = (value or "").strip()
    if not text:
        return None
    bad = (
        text.startswith("-")
        or "::" in text
        or len(text) > 2000
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in text)
    )
    scheme = _URL_SCHEME.match(text)
    if scheme:
        try:
            parts = urlsplit(text)
            names = [parts.username or "", parts.hostname or ""]
        except ValueError:  # e.g. an unclosed [IPv6] host
            names, bad = [], True
        bad = bad or scheme.group(1).lower() not in STORE_REMOTE_SCHEMES
    elif ":" in text.split("/", 1)[0]:  # user@host:path, which git reaches over ssh
        names = text.split(":", 1)[0].rsplit("@", 1)
    else:  # a folder on this machine
        names = []
        if not bad:
            text = str(Path(text).resolve())
    if bad or any(name.startswith("-") for name in names):
        raise UserError("mirror.bad_remote")
    return text


def _demo_cookie_key(home: Path) -> str:
    """A random key made once per demo installation, so no two demos share a forgeable cookie."""
    path = home / "demo-cookie-key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    return key
