"""What a user chose for themselves and keeps from one login to the next: the language they read
the Operational Center in. May import: models, i18n, sqlmodel."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from ocenter.i18n import LANGUAGES
from ocenter.models import User


def preferred_language(engine: Engine, username: str) -> str | None:
    """The language ``username`` last chose ("id" or "en"), or None when they never chose one."""
    with Session(engine) as session:
        user = session.get(User, username)
        language = user.language if user is not None else None
    return language if language in LANGUAGES else None


def remember_language(engine: Engine, username: str, language: str) -> None:
    """Keep ``language`` as the one ``username`` reads in, from their next page on, on every
    device. Anything but a language the catalogue has is ignored."""
    if language not in LANGUAGES:
        return
    with Session(engine) as session:
        user = session.get(User, username)
        if user is None or user.language == language:
            return
        user.language = language
        session.add(user)
        session.commit()
