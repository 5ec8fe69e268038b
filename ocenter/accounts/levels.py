"""Confidentiality levels, scopes, roles and stakeholder tiers: the procedure's words for who may
see and do what.

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


class Tier(StrEnum):
    """The kind of stakeholder the SOP names (step 7 sets default data per tier, step 8 shows
    the display to each), derived from a user's role by :func:`tier_of`."""

    KEPALA_BPOM = "kepala_bpom"  # head of the agency
    ESELON_1 = "eselon_1"  # deputies and the principal secretary
    ESELON_2 = "eselon_2"  # directors and heads of centres and bureaus
    KEPALA_UPT = "kepala_upt"  # heads of Balai Besar POM, Balai POM and Loka POM
    UNIT_STAFF = "unit_staff"  # staff of a work unit, central or UPT
    PUSDATIN = "pusdatin"  # the data and information centre that runs the Operational Center
    AUTHORISED_PARTY = "authorised_party"  # parties given explicit authorisation
    WALL_SCREEN = "wall_screen"  # the Operational Center's wall screen

    @property
    def ceiling(self) -> Level:
        """The highest confidentiality level anyone of this tier is cleared for: a step-7
        default filter on a field above it would itself tell the tier something of that
        field, so step 7 refuses one. Taken from the demo users (README, "Demo users")."""
        return _TIER_CEILING[self]

    @property
    def usual_scope(self) -> ScopeKind:
        """The scope users of this tier have: how a step-7 default kept by scope (records
        made before tiers) is read for the tier, and the scope step 8 previews it with."""
        return _TIER_SCOPE[self]


_TIER_CEILING = {
    Tier.KEPALA_BPOM: Level.SANGAT_RAHASIA,
    Tier.ESELON_1: Level.RAHASIA,
    Tier.ESELON_2: Level.RAHASIA,
    Tier.KEPALA_UPT: Level.RAHASIA,
    Tier.UNIT_STAFF: Level.TERBATAS,
    Tier.PUSDATIN: Level.RAHASIA,
    Tier.AUTHORISED_PARTY: Level.TERBATAS,
    Tier.WALL_SCREEN: Level.RAHASIA,
}

_TIER_SCOPE = {
    Tier.KEPALA_BPOM: ScopeKind.BPOM,
    Tier.ESELON_1: ScopeKind.BPOM,
    Tier.ESELON_2: ScopeKind.UNIT,
    Tier.KEPALA_UPT: ScopeKind.UPT,
    Tier.UNIT_STAFF: ScopeKind.UNIT,
    Tier.PUSDATIN: ScopeKind.BPOM,
    Tier.AUTHORISED_PARTY: ScopeKind.GRANT,
    Tier.WALL_SCREEN: ScopeKind.BPOM,
}

_ROLE_TIER = {
    Role.KEPALA: Tier.KEPALA_BPOM,
    Role.DEPUTI: Tier.ESELON_1,
    Role.DIREKTUR: Tier.ESELON_2,
    Role.KABALAI: Tier.KEPALA_UPT,
    Role.TAMU: Tier.AUTHORISED_PARTY,
    Role.ANALIS: Tier.PUSDATIN,
    Role.VERIFIKATOR: Tier.PUSDATIN,
    Role.UNIT: Tier.UNIT_STAFF,
    Role.UPT: Tier.UNIT_STAFF,
    # Another ministry or agency sees only what is granted to it, like any outside party.
    Role.MITRA: Tier.AUTHORISED_PARTY,
    # The application's administrators work in Pusdatin, which runs the Operational Center.
    Role.ADMIN: Tier.PUSDATIN,
    Role.LAYAR: Tier.WALL_SCREEN,
}


def tier_of(role: Role) -> Tier:
    """The stakeholder tier of a user with ``role``."""
    return _ROLE_TIER[role]


#: Audience words stored before tiers: the request form's (``kepala``, ``eselon1``, ...) and a
#: spec's scopes (``bpom``, ``unit``, ...). A scope stands for the tiers whose usual scope it is.
_OLD_AUDIENCE_WORDS: dict[str, tuple[Tier, ...]] = {
    "kepala": (Tier.KEPALA_BPOM,),
    "eselon1": (Tier.ESELON_1,),
    "eselon2": (Tier.ESELON_2,),
    "tamu": (Tier.AUTHORISED_PARTY,),
    **{scope.value: tuple(t for t in Tier if t.usual_scope == scope) for scope in ScopeKind},
}


def audience_tiers(words: list[str]) -> list[Tier]:
    """The tiers an audience names, in its order without repeats: tier names, and the words
    stored before tiers (``upt`` is Kepala UPT both in an old request and as an old scope).
    Raises ``ValueError`` on a word that is neither."""
    tiers: list[Tier] = []
    for word in words:
        value = str(word)  # a StrEnum member (an old ScopeKind, a Tier) is its value
        named = _OLD_AUDIENCE_WORDS.get(value) or (Tier(value),)  # ValueError: not a tier
        tiers.extend(t for t in named if t not in tiers)
    return tiers
