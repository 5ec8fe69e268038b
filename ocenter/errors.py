"""Errors a user can cause, carried as catalogue keys so every page can say them in the user's language."""

from __future__ import annotations


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
