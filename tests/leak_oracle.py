"""Who may see what of the Operational Center: a second, independent statement of the rules.

The leak matrix (``tests/test_leak_matrix.py``) asks this module, never the app, what each user
may see, then reads everything the app sends that user. It imports nothing of ``ocenter``: levels,
scopes and roles are plain strings here (the values the app stores), and every rule is written
again from the procedure's own words, so that a mistake in the app's rules cannot hide in the
test's. Change a rule here only when the SOP's reading changes, never to follow the app.

The rules, as SOP POM-09.01/CFM.02/SOP.06 and the README state them
--------------------------------------------------------------------

Authority. Data is classified by confidentiality level when it is sent (step 1), lowest first:
Terbuka, Terbatas, Rahasia, Sangat Rahasia. A viewer's authority is a clearance (one of those
levels), a scope (all of BPOM; one central unit; one UPT's region; or only what is granted), the
stakeholder tier their role puts them in, and explicit grants of single dashboards (DOMAIN,
"Confidentiality and authority"; README, "Stakeholder tiers" and "Authorised parties"). A
deactivated account has no authority at all: it sees nothing, whatever its session or cookie
still holds (README, "Login": a session ends when the user is deactivated, and the person sees
the login form).

Tiers (README, "Stakeholder tiers"). The SOP names eight kinds of stakeholder, and each role
belongs to one: Kepala BPOM (``kepala``), Eselon I (``deputi``), Eselon II (``direktur``), Kepala
UPT (``kabalai``), unit staff (``unit``, ``upt``: staff of a central unit or of a UPT), Pusdatin
(``analis``, ``verifikator``, ``admin``), authorised parties (``tamu``, ``mitra``) and the wall
screen (``layar``). A dashboard's audience is a set of tiers.

Grants (README, "Authorised parties"). A grant names one dashboard and the day it ends; it counts
on the days before that day unless it was revoked. An ended or revoked grant counts for nothing.

Dashboards (step 8, "show the Operational Center dashboard according to each stakeholder's
authority"). A viewer may open a dashboard on display only when the dashboard's level is within
their clearance, and then only when
  - a grant of the dashboard to them is in force; or
  - their scope is all of BPOM; or
  - their scope is a central unit, and that unit owns the dashboard or its audience names their
    tier; or
  - their scope is a UPT's region, and its audience names both Kepala UPT (the regions are meant)
    and their own tier.
An authorised party (scope "grant") sees only what is granted to them, whatever the audience
names, and a grant never lifts a viewer above their clearance.

Granting (README, "Authorised parties"). The administrator and Pusdatin's analysts grant
approved dashboards and revoke grants, each only for dashboards within their own clearance: they
see the titles of those dashboards, and of no other, when granting and in the list of grants.

Data (step 7, "classify the default data by the authority of each stakeholder"). Of a dataset a
viewer receives:
  - nothing at all when their clearance is below the dataset's level;
  - only the fields whose level is within their clearance, a field counting as the higher of its
    own level and its dataset's;
  - for a UPT-scope viewer, only the rows of their own UPT, by the dataset's scope field (none
    when the dataset has no scope field or the viewer no unit);
and on the display only what the panels of a dashboard they may open show: a field no panel
names never leaves the server.

Requests (the Formulir Permintaan Dashboard). A request's title and purpose are read only by
those concerned with it: Pusdatin (analysts and verifiers, who carry out steps 2 to 9), the
requesting unit (steps 5 and 10 are its own), and viewers whose scope is all of BPOM (Kepala BPOM
and Eselon I follow every request); and of those only by whom the request's level is within
their clearance (issue 11: a request is classified like the dashboard it asks for).

Verification (step 3, "data that does not conform is sent back to the sender"). The values a
verification report quotes, and the failing rows sent back, reach a person only where the higher
of the field's and the dataset's level is within their clearance. The failing rows go back to the
senders of the sending unit (and to Pusdatin): a head of UPT or a director shares the unit code
but sends nothing.

Mock-ups (steps 4 and 5). Pusdatin's analysts preview a mock-up as a viewer of their own
authority would see it; the requesting unit reviews the mock-up of its own request's dashboard,
with the same data rules. The levels that count are those of the data contracts on main: a
contract changes only with its owner unit's and Pusdatin's approval (README, "Perubahan Kontrak
Data"), never by what a mock-up branch carries. The review shows what approving changes on the
request's own dashboard, and nothing of any other dashboard.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

#: Confidentiality levels, lowest first (the values the app stores).
LEVELS = ("terbuka", "terbatas", "rahasia", "sangat-rahasia")
#: Scopes of authority.
BPOM, UNIT, UPT, GRANT = "bpom", "unit", "upt", "grant"
#: Pusdatin's roles: they receive, verify, build and evaluate (steps 2-9).
PUSDATIN_ROLES = frozenset({"analis", "verifikator"})
#: Who sends data (step 1): central unit staff, UPT staff, other agencies.
SENDER_ROLES = frozenset({"unit", "upt", "mitra"})
#: Who grants dashboards to authorised parties and revokes the grants.
GRANTER_ROLES = frozenset({"analis", "admin"})
#: Who speaks for a requesting unit in steps 5 and 10.
UNIT_SIDE_ROLES = frozenset({"unit", "direktur"})
#: The stakeholder tiers (the values the app stores), in the README's order.
KEPALA_BPOM, ESELON_1, ESELON_2, KEPALA_UPT = "kepala_bpom", "eselon_1", "eselon_2", "kepala_upt"
UNIT_STAFF, PUSDATIN, AUTHORISED_PARTY = "unit_staff", "pusdatin", "authorised_party"
WALL_SCREEN = "wall_screen"
TIERS = (KEPALA_BPOM, ESELON_1, ESELON_2, KEPALA_UPT, UNIT_STAFF, PUSDATIN, AUTHORISED_PARTY,
         WALL_SCREEN)
#: Each role's tier, as the README's table of tiers lists the roles.
TIER_OF_ROLE = {
    "kepala": KEPALA_BPOM, "deputi": ESELON_1, "direktur": ESELON_2, "kabalai": KEPALA_UPT,
    "unit": UNIT_STAFF, "upt": UNIT_STAFF,
    "analis": PUSDATIN, "verifikator": PUSDATIN, "admin": PUSDATIN,
    "tamu": AUTHORISED_PARTY, "mitra": AUTHORISED_PARTY,
    "layar": WALL_SCREEN,
}


def rank(level: str) -> int:
    """0 for Terbuka up to 3 for Sangat Rahasia."""
    return LEVELS.index(level)


def within(clearance: str, level: str) -> bool:
    """True when a clearance of ``clearance`` covers something classified ``level``."""
    return rank(level) <= rank(clearance)


def higher(*levels: str) -> str:
    """The highest of ``levels``."""
    return max(levels, key=rank)


@dataclass(frozen=True)
class Grant:
    """One dashboard granted to a user: it counts on the days before ``ends_on``, unless revoked."""

    dashboard: str  # the key of the dashboard granted
    ends_on: date
    revoked: bool = False


def in_force(grant: Grant, today: date) -> bool:
    """Whether ``grant`` counts on ``today``."""
    return not grant.revoked and today < grant.ends_on


@dataclass(frozen=True)
class Person:
    """One user: what the administrator recorded for them, and the grants given to them."""

    username: str
    role: str
    clearance: str
    scope: str
    unit_code: str | None = None
    grants: tuple[Grant, ...] = ()
    active: bool = True

    @property
    def tier(self) -> str:
        """The stakeholder tier of the person's role."""
        return TIER_OF_ROLE[self.role]

    def granted(self, today: date) -> frozenset[str]:
        """The keys of the dashboards granted to the person by a grant in force on ``today``."""
        return frozenset(g.dashboard for g in self.grants if in_force(g, today))


@dataclass(frozen=True)
class Dataset:
    """A dataset as sent: its level, each field's level, and its rows (every cell text)."""

    key: str
    level: str
    fields: Mapping[str, str] = field(hash=False)  # field name -> level
    rows: tuple[Mapping[str, str], ...] = field(hash=False)
    scope_field: str | None = "kode_upt"

    def values(self, names: Iterable[str] | None = None) -> set[str]:
        """Every cell of the given fields (all fields when None), whoever may see them."""
        chosen = list(self.fields) if names is None else list(names)
        return {row[name] for row in self.rows for name in chosen}


@dataclass(frozen=True)
class Dashboard:
    """A dashboard (on display, or a mock-up) and the dataset fields its panels show."""

    key: str
    title: str
    level: str
    owner_unit: str
    audience: frozenset[str]  # tiers
    dataset: Dataset | None = None
    shown: tuple[str, ...] = ()  # fields its panels name


@dataclass(frozen=True)
class Request:
    """A Formulir Permintaan Dashboard."""

    key: str
    title: str
    purpose: str
    level: str
    requesting_unit: str


# --- dashboards ---------------------------------------------------------------------------------


def may_open(person: Person, dashboard: Dashboard, today: date) -> bool:
    """Whether ``person`` may open ``dashboard`` (step 8) on ``today``."""
    if not person.active or not within(person.clearance, dashboard.level):
        return False
    if dashboard.key in person.granted(today):
        return True
    if person.scope == BPOM:
        return True
    if person.scope == UNIT:
        return person.unit_code == dashboard.owner_unit or person.tier in dashboard.audience
    if person.scope == UPT:
        return KEPALA_UPT in dashboard.audience and person.tier in dashboard.audience
    return False  # scope "grant": only what is granted


def may_grant(person: Person, dashboard: Dashboard) -> bool:
    """Whether ``person`` may grant the approved ``dashboard`` (and so read its title where grants
    are given and listed)."""
    return person.active and person.role in GRANTER_ROLES and within(person.clearance, dashboard.level)


# --- data ---------------------------------------------------------------------------------------


def rows_for(person: Person, dataset: Dataset) -> list[Mapping[str, str]]:
    """The rows of ``dataset`` that may reach ``person`` (all of them, but a UPT's own for a
    UPT-scope viewer)."""
    if person.scope != UPT:
        return list(dataset.rows)
    if not dataset.scope_field or not person.unit_code:
        return []
    return [row for row in dataset.rows if row.get(dataset.scope_field) == person.unit_code]


def fields_for(person: Person, dataset: Dataset, names: Iterable[str]) -> list[str]:
    """The fields among ``names`` whose level (the higher of the field's and the dataset's) is
    within the person's clearance; none when the dataset itself is above it."""
    if not person.active or not within(person.clearance, dataset.level):
        return []
    return [n for n in names if within(person.clearance, higher(dataset.level, dataset.fields[n]))]


def values_reaching(person: Person, dataset: Dataset, names: Iterable[str]) -> set[str]:
    """The cells of the fields ``names`` of ``dataset`` that may reach ``person``."""
    allowed = fields_for(person, dataset, names)
    return {row[name] for row in rows_for(person, dataset) for name in allowed}


def dashboard_values(person: Person, dashboard: Dashboard, today: date) -> set[str]:
    """What the display of ``dashboard`` may send ``person`` on ``today``: its title and the cells
    its panels show, by the data rules; nothing when they may not open it."""
    if not may_open(person, dashboard, today):
        return set()
    shown = {dashboard.title}
    if dashboard.dataset is not None:
        shown |= values_reaching(person, dashboard.dataset, dashboard.shown)
    return shown


# --- requests -----------------------------------------------------------------------------------


def concerned(person: Person, request: Request) -> bool:
    """Whether ``person`` takes part in ``request``: Pusdatin, its unit, or all of BPOM."""
    return (
        person.role in PUSDATIN_ROLES
        or person.scope == BPOM
        or (person.unit_code is not None and person.unit_code == request.requesting_unit)
    )


def may_read_request(person: Person, request: Request) -> bool:
    """Whether ``person`` may read the request's title and purpose."""
    return person.active and concerned(person, request) and within(person.clearance, request.level)


# --- verification -------------------------------------------------------------------------------


def report_values(person: Person, dataset: Dataset) -> set[str]:
    """The cells a verification report of ``dataset``'s rows may quote to ``person`` (Pusdatin
    verifies; every row of a submission is theirs to check)."""
    if person.role not in PUSDATIN_ROLES:
        return set()
    allowed = fields_for(person, dataset, dataset.fields)
    return {row[name] for row in dataset.rows for name in allowed}


def failing_row_values(person: Person, dataset: Dataset, sending_unit: str) -> set[str]:
    """The cells of the failing rows of a submission of ``dataset`` from ``sending_unit`` that
    may go back to ``person``: the sending unit's senders and Pusdatin, by the data rules."""
    sender = person.role in SENDER_ROLES and person.unit_code == sending_unit
    if not (sender or person.role in PUSDATIN_ROLES):
        return set()
    allowed = fields_for(person, dataset, dataset.fields)
    return {row[name] for row in dataset.rows for name in allowed}


# --- mock-ups -----------------------------------------------------------------------------------


def analyst_preview_values(person: Person, mockup: Dashboard, today: date) -> set[str]:
    """What an analyst's preview of ``mockup`` may show them (step 4)."""
    if person.role != "analis":
        return set()
    return dashboard_values(person, mockup, today) - {mockup.title}


def review_values(person: Person, mockup: Dashboard, request: Request, today: date) -> set[str]:
    """What the review of ``mockup`` may show ``person`` (step 5): the requesting unit's own
    reviewers only, and only those cleared for the whole mock-up (README, "No leak on any
    channel": a reviewer below the mock-up's level, the highest of the request's, the spec's and
    the data its panels show by the levels on main, sees none of it and is told who can review);
    then the data rules."""
    if person.role not in UNIT_SIDE_ROLES or person.unit_code != request.requesting_unit:
        return set()
    level = higher(request.level, mockup.level)
    if mockup.dataset is not None:
        level = higher(level, *(higher(mockup.dataset.level, mockup.dataset.fields[name])
                                for name in mockup.shown))
    if not within(person.clearance, level):
        return set()
    return dashboard_values(person, mockup, today) - {mockup.title}
