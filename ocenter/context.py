"""The long-lived parts of one running installation: settings, database engine, spec store, clock."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine

from ocenter.clock import SYSTEM_CLOCK, Clock
from ocenter.config import Settings
from ocenter.database import make_engine
from ocenter.storage import Bucket, attach_bucket, detach_bucket, files_of, parse_bucket_url
from ocenter.store.mirror import MirrorStatus, mirror_status, start_mirror, stop_mirror
from ocenter.store.spec_store import SpecStore


@dataclass(frozen=True)
class AppContext:
    """What every use case needs; made once per process and shared by all sessions (thread-safe:
    the engine pools connections, the store writes through Git plumbing only)."""

    settings: Settings
    engine: Engine
    store: SpecStore
    clock: Clock = SYSTEM_CLOCK

    @property
    def home(self) -> Path:
        """The installation's data folder (OCENTER_HOME)."""
        return self.settings.home

    @property
    def uploads_dir(self) -> Path:
        """Where uploads wait, unchanged, for verification."""
        return self.settings.home / "uploads"

    @property
    def bucket(self) -> Bucket | None:
        """The shared bucket datasets and uploads are kept in; None when they are local only."""
        return files_of(self.home / "datasets").bucket

    @property
    def mirror(self) -> MirrorStatus | None:
        """How pushing the store to OCENTER_STORE_REMOTE stands; None when it is off."""
        return mirror_status(self.settings.store_path)


def attach_storage(settings: Settings) -> Bucket | None:
    """Keep the data files under ``settings.home`` in the bucket ``settings.datasets_url`` names,
    for this process (its folders become a cache of it), or in those folders alone when it names
    none; the bucket, or None. Every command that reads or writes data files starts with this:
    the app (``open_context``), backup and restore."""
    if not settings.datasets_url:
        detach_bucket(settings.home)
        return None
    location = parse_bucket_url(settings.datasets_url, settings.s3_endpoint_url, settings.s3_region)
    bucket = Bucket(location)
    attach_bucket(settings.home, bucket)
    return bucket


def open_context(settings: Settings, clock: Clock = SYSTEM_CLOCK) -> AppContext:
    """Open (creating if needed) the folders, database and store of ``settings``; the use cases
    take the time and the day from ``clock``.

    With ``settings.store_remote``, a background thread pushes the store after every change
    (and at once when an earlier run left a change unpushed); nothing here waits for it. With
    ``settings.datasets_url``, datasets and uploads are kept in that bucket, and the folders
    under home become this process's cache of it.
    """
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / "uploads").mkdir(exist_ok=True)
    attach_storage(settings)
    engine = make_engine(settings.database_url)
    store = SpecStore.open_or_init(settings.store_path)
    if settings.store_remote:
        start_mirror(settings.store_path, settings.store_remote)
    else:
        stop_mirror(settings.store_path)
    return AppContext(settings=settings, engine=engine, store=store, clock=clock)
