"""Who may read a dashboard request's words: its title and purpose are as confidential as the
level the unit proposed for it (``DashboardRequest.level``)."""

from __future__ import annotations

from enum import StrEnum

from ocenter.accounts.authority import Authority
from ocenter.accounts.levels import Role
from ocenter.i18n import t
from ocenter.models import DashboardRequest

#: Pusdatin works every request whatever its level, so it learns that one exists.
_WORKS_EVERY_REQUEST = (Role.ANALIS, Role.VERIFIKATOR)


class RequestView(StrEnum):
    """How much of a request one viewer is shown."""

    FULL = "full"  # number, title, purpose, status
    WITHHELD = "withheld"  # number and status: "Permintaan #N (dirahasiakan)"
    HIDDEN = "hidden"  # nothing: not theirs, and above their clearance


def request_view(viewer: Authority, request: DashboardRequest) -> RequestView:
    """The one rule every page follows for a request's words.

    - A viewer whose clearance covers the request's level reads it whole.
    - Below that level, the requesting unit's own people and Pusdatin (who work on it) see that
      it exists, by number and status, never its title or purpose.
    - Anyone else below that level does not see it at all.
    """
    if viewer.may_see_level(request.level):
        return RequestView.FULL
    if works_every_request(viewer) or (
        viewer.unit_code is not None and viewer.unit_code == request.requesting_unit
    ):
        return RequestView.WITHHELD
    return RequestView.HIDDEN


def works_every_request(viewer: Authority) -> bool:
    """Whether ``viewer`` works on every request (Pusdatin), and so learns of each one's number."""
    return viewer.role in _WORKS_EVERY_REQUEST


def shown_requests(viewer: Authority, requests: list[DashboardRequest]) -> list[DashboardRequest]:
    """``requests`` without those hidden from ``viewer``, in the same order."""
    return [r for r in requests if request_view(viewer, r) != RequestView.HIDDEN]


def request_label(viewer: Authority, request: DashboardRequest, lang: str) -> str:
    """The request as ``viewer`` may name it, as plain text: "#N · title", or the number alone
    marked as withheld. Markdown sinks must escape it (it holds what the unit typed)."""
    if request_view(viewer, request) == RequestView.FULL:
        return f"#{request.id} · {request.title}"
    return t("request.withheld", lang, request=request.id)


def request_purpose(viewer: Authority, request: DashboardRequest, lang: str) -> str:
    """The request's purpose as ``viewer`` may read it (plain text), or that it is withheld."""
    if request_view(viewer, request) == RequestView.FULL:
        return request.purpose
    return t("request.purpose_withheld", lang)
