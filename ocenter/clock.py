"""The time the use cases see: the system clock in service, a fixed clock where a run must repeat.

Every use case that stamps a time or counts working days asks ``ctx.clock`` rather than the
machine, so a test (or a demonstration) can say which day it is and see the same due dates on
every run. Pure Python: no database, no Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

#: Working days are counted on the calendar of BPOM's head office in Jakarta (WIB, UTC+7, no DST).
WIB = timezone(timedelta(hours=7), "WIB")


class Clock:
    """The system clock."""

    def now(self) -> datetime:
        """Now, in UTC, with its time zone (SQLModel stores datetimes as UTC)."""
        return datetime.now(UTC)

    def today(self) -> date:
        """Today's date in Jakarta, whatever the server's own time zone: between 00:00 and
        07:00 WIB the UTC date is still yesterday, and working days follow the office."""
        return self.now().astimezone(WIB).date()


@dataclass(frozen=True)
class FixedClock(Clock):
    """A clock that always says ``moment``."""

    moment: datetime

    def __post_init__(self) -> None:
        # A naive moment has no date in Jakarta; guessing its zone is how a day gets lost.
        if self.moment.tzinfo is None:
            raise ValueError("FixedClock needs a datetime with its time zone")

    @classmethod
    def wib(cls, year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> FixedClock:
        """A clock stopped at that time of day in Jakarta (by default 09:00, office hours)."""
        return cls(datetime(year, month, day, hour, minute, tzinfo=WIB))

    def now(self) -> datetime:
        """``moment``, in UTC."""
        return self.moment.astimezone(UTC)


#: The clock of a running installation.
SYSTEM_CLOCK = Clock()
