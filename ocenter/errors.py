"""Errors a user can cause, carried as catalogue keys so every page can say them in the user's language."""

from __future__ import annotations

from ocenter.i18n import Said, catalogue


class UserError(Exception):
    """A refusal the user can act on: bad input, a missing permission, a conflict.

    The message is not text but a key of the message catalogue (``ocenter/messages``) and
    the values it needs, so the page shows it in Bahasa Indonesia or English.
    """

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def __str__(self) -> str:  # English, for logs and the command line
        from ocenter.i18n import t

        return t(self.key, "en", **self.params)

    def text(self, lang: str) -> str:
        """The message in ``lang`` ("id" or "en")."""
        from ocenter.i18n import t

        return t(self.key, lang, **self.params)


class PermissionDenied(UserError):
    """The user's role or authority does not allow this action."""


class NotFound(UserError):
    """What the user asked for does not exist (or is not visible to them)."""


class Conflict(UserError):
    """Someone else changed the same thing first; nothing was overwritten."""


class IntegrityError(UserError):
    """Kept evidence (a stored file, an upload) no longer matches the digest recorded for it:
    it was changed outside the application. It is refused, never used, and logged."""


class Unavailable(UserError):
    """The machine could not do it now: its disk is full, or the database was held too long by
    another process. Nothing is left half-done; the user may try again once it is resolved."""


#: How disks that are full speak: errno 28 and 122 as C libraries print them, SQLite's
#: SQLITE_FULL and PostgreSQL's "could not extend file" (SQLSTATE 53100, disk_full).
_DISK_FULL_TEXTS = (
    "no space left on device",
    "disk quota exceeded",
    "database or disk is full",
    "could not extend file",
)


def is_disk_full(error: BaseException | str) -> bool:
    """True when ``error`` (an exception, or a program's error output) says the disk is full."""
    import errno

    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if getattr(error, "sqlstate", None) == "53100":
        return True
    text = str(error).lower()
    return any(marker in text for marker in _DISK_FULL_TEXTS)


def disk_full() -> Unavailable:
    """The refusal shown when a write found the disk full."""
    return Unavailable("system.disk_full")


def validation_problems(error: object, whole: str = "", limit: int | None = None) -> list[Said]:
    """A pydantic ``ValidationError``'s errors, each "path: message" (``whole`` when it is about
    the whole document), the first ``limit`` when given; said in the reader's language where the
    catalogue has the check (``check.*`` of our models, ``pydantic.<type>`` of pydantic's own)."""
    return [Said("check.at", where=".".join(str(p) for p in e["loc"]) or whole, problem=_problem(e))
            for e in error.errors(include_url=False)[:limit]]  # type: ignore[attr-defined]


def validation_details(error: object, whole: str = "", limit: int | None = None) -> Said:
    """``validation_problems`` as one line, "path: message; ..."."""
    return Said.joined("; ", validation_problems(error, whole, limit))  # type: ignore[arg-type]


def said_of(error: Exception) -> str:
    """A ``ValueError`` raised with a message of the catalogue (``i18n.Said``) as that message,
    any other as its text."""
    return error.args[0] if len(error.args) == 1 and isinstance(error.args[0], Said) else str(error)


def _problem(error: dict) -> str:
    kind, values = error["type"], {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    for key in (kind, f"pydantic.{kind}"):
        if key.startswith(("check.", "pydantic.")) and key in catalogue():
            try:
                return Said(key, **values)
            except KeyError:  # the text names a value this error does not carry
                break
    return error["msg"]
