"""Confidentiality levels, scopes and roles: the procedure's words for who may see and do what.

Plain enumerations, without pydantic, so that the command line can name them before the
heavier modules load; :mod:`ocenter.accounts.authority` builds a viewer's authority from them.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Confidentiality level of data, a field or a dashboard, lowest first."""

    TERBUKA = "terbuka"  # open / public
    TERBATAS = "terbatas"  # limited, internal to BPOM
    RAHASIA = "rahasia"  # secret
    SANGAT_RAHASIA = "sangat-rahasia"  # top secret

    @property
    def rank(self) -> int:
        """1 for Terbuka up to 4 for Sangat Rahasia."""
        return _LEVEL_ORDER.index(self) + 1

    def allows(self, other: Level) -> bool:
        """True when a clearance of this level may see something classified ``other``."""
        return self.rank >= other.rank


_LEVEL_ORDER = [Level.TERBUKA, Level.TERBATAS, Level.RAHASIA, Level.SANGAT_RAHASIA]


def highest(levels: list[Level]) -> Level:
    """The highest of ``levels`` (Terbuka for an empty list)."""
    return max(levels, key=lambda level: level.rank, default=Level.TERBUKA)


class ScopeKind(StrEnum):
    """How much of BPOM a viewer's authority covers."""

    BPOM = "bpom"  # all of BPOM: Kepala, Eselon I, Pusdatin
    UNIT = "unit"  # one central unit (Eselon II and its staff)
    UPT = "upt"  # one UPT's region
    GRANT = "grant"  # only dashboards explicitly granted (authorised outside parties)


class Role(StrEnum):
    """What a user does in the procedure; decides which pages they get."""

    KEPALA = "kepala"  # Kepala BPOM
    DEPUTI = "deputi"  # Eselon I
    DIREKTUR = "direktur"  # Eselon II of a central unit: requests and approves
    KABALAI = "kabalai"  # head of a UPT
    TAMU = "tamu"  # authorised outside party
    ANALIS = "analis"  # Pusdatin analyst: mock-ups, build, classification, evaluation
    VERIFIKATOR = "verifikator"  # Pusdatin verifier: receives and verifies data
    UNIT = "unit"  # central unit staff: requests, sends data, reviews mock-ups
    UPT = "upt"  # UPT staff: sends data for its region
    MITRA = "mitra"  # another ministry or agency (K/L) sending strategic data
    ADMIN = "admin"  # user administration
    LAYAR = "layar"  # the Operational Center wall screen
