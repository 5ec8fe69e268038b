"""The Operational Center's wall screens: each screen's playlist (which approved dashboards, in
what order, for how many seconds each), kept by Pusdatin, and what a screen shows at a moment.

Every screen with the same playlist shows the same dashboard at the same time: the dashboard on
screen is a function of the clock, not of a browser's state, so a reload or a restart resumes the
rotation where it stands. What a screen may show is still decided by its own authority
(``display.filtering.visible_specs``): a playlist entry the screen may not see is skipped.
May import: accounts, models, events, errors, context, sqlmodel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlmodel import Session, col, delete, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.errors import NotFound, UserError
from ocenter.events import record
from ocenter.models import User, WallSlot

#: Seconds a dashboard stays on a wall screen unless its playlist says otherwise.
DEFAULT_SECONDS = 60
#: The shortest and longest time a playlist may keep one dashboard on screen.
MIN_SECONDS, MAX_SECONDS = 10, 3600
#: The most dashboards one playlist may hold.
MAX_ENTRIES = 50
#: Who keeps the playlists (Pusdatin's analysts run the Operational Center's content).
PLAYLIST_KEEPERS = (Role.ANALIS,)


class PlaylistEntry(BaseModel):
    """One dashboard of a wall screen's playlist."""

    dashboard_id: str = Field(description="Id of an approved dashboard on display (on main).",
                              examples=["dasbor-0001"])
    seconds: int = Field(default=DEFAULT_SECONDS, ge=MIN_SECONDS, le=MAX_SECONDS,
                         description="How long the dashboard stays on the screen each round.")


@dataclass(frozen=True)
class OnScreen:
    """What a wall screen shows at one moment."""

    entry: PlaylistEntry
    position: int  # 1-based place in the round of dashboards the screen may show
    count: int  # dashboards in that round
    remaining: int  # whole seconds until the next dashboard


def wall_screens(ctx: AppContext) -> list[str]:
    """The usernames of the active wall screen accounts, in order."""
    with Session(ctx.engine) as session:
        return list(session.exec(select(User.username).where(
            User.role == Role.LAYAR, col(User.active).is_(True)).order_by(User.username)).all())


def playlist(ctx: AppContext, screen: str) -> list[PlaylistEntry]:
    """The playlist Pusdatin set for ``screen``, in order (empty when none was set)."""
    with Session(ctx.engine) as session:
        slots = session.exec(select(WallSlot).where(WallSlot.screen == screen)
                             .order_by(col(WallSlot.position))).all()
    return [PlaylistEntry(dashboard_id=s.dashboard_id, seconds=s.seconds) for s in slots]


def set_playlist(
    ctx: AppContext, actor: Authority, screen: str, entries: list[PlaylistEntry]
) -> list[PlaylistEntry]:
    """Replace ``screen``'s playlist with ``entries`` (Pusdatin). Each must name a dashboard on
    display, once; an empty list goes back to every dashboard the screen may see, a minute each."""
    require_role(actor, *PLAYLIST_KEEPERS)
    if len(entries) > MAX_ENTRIES:
        raise UserError("wall.too_many", limit=MAX_ENTRIES)
    ids = [e.dashboard_id for e in entries]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise UserError("wall.twice", dashboards=", ".join(twice))
    on_display = ctx.store.snapshot("main").displayed_specs()
    unknown = [i for i in ids if i not in on_display]
    if unknown:
        raise NotFound("wall.not_on_display", dashboards=", ".join(unknown))
    with Session(ctx.engine) as session:
        user = session.get(User, screen)
        if user is None or user.role != Role.LAYAR:
            raise NotFound("wall.not_a_screen", screen=screen)
        session.exec(delete(WallSlot).where(col(WallSlot.screen) == screen))
        for position, entry in enumerate(entries, start=1):
            session.add(WallSlot(screen=screen, position=position, dashboard_id=entry.dashboard_id,
                                 seconds=entry.seconds, set_by=actor.username, set_at=ctx.clock.now()))
        record(session, actor.username, "wall.playlist_set",
               detail=f"{screen}: " + ", ".join(f"{e.dashboard_id} {e.seconds}s" for e in entries))
        session.commit()
    return playlist(ctx, screen)


def round_of(entries: list[PlaylistEntry], visible: Iterable[str]) -> list[PlaylistEntry]:
    """The dashboards a screen shows in turn: its playlist's entries it may see, in order; with no
    playlist, every dashboard it may see (in ``visible``'s order), ``DEFAULT_SECONDS`` each."""
    seen = list(visible)
    if not entries:
        return [PlaylistEntry(dashboard_id=i) for i in seen]
    allowed = set(seen)
    return [e for e in entries if e.dashboard_id in allowed]


def on_screen(entries: list[PlaylistEntry], moment: datetime) -> OnScreen | None:
    """Which of ``entries`` (a round, from ``round_of``) is on screen at ``moment``: the rounds
    follow each other from the Unix epoch, so every screen with the same round agrees."""
    if not entries:
        return None
    total = sum(e.seconds for e in entries)
    into = int(moment.timestamp()) % total
    for position, entry in enumerate(entries, start=1):
        if into < entry.seconds:
            return OnScreen(entry, position, len(entries), entry.seconds - into)
        into -= entry.seconds
    raise AssertionError("unreachable: the offset is within the round")  # pragma: no cover


#: The wall's measures on a 1920x1080 screen, in pixels: the dashboard's title line, each tile's
#: frame, title and caption, and a row of figures (KPI tiles) alone.
WALL_HEIGHT, HEADER, TILE_CHROME, FIGURE_ROW = 1080, 96, 72, 150


def row_heights(rows: list[list[bool]], *, screen_height: int = WALL_HEIGHT, header: int = HEADER,
                chrome: int = TILE_CHROME, figure_row: int = FIGURE_ROW, smallest: int = 100,
                largest: int = 460) -> list[int]:
    """The chart height of each row of tiles so that the rows fit a ``screen_height`` screen
    without scrolling. ``rows`` says, for each tile of each row, whether it is a figure (a KPI)
    rather than a chart or table: a row of figures alone takes ``figure_row``; the rows with a
    chart share what is left, each within ``smallest`` and ``largest``. Up to five rows of charts
    fit; a dashboard with more scrolls, so a wall dashboard keeps to five rows (fifteen narrow
    tiles)."""
    charted = [not all(row) for row in rows]
    left = screen_height - header - figure_row * charted.count(False)
    share = left // max(1, charted.count(True)) - chrome
    height = max(smallest, min(largest, share))
    return [height if has_chart else figure_row - chrome for has_chart in charted]
