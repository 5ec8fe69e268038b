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
levels), a scope (all of BPOM; one central unit; one UPT's region; or only what is granted) and
explicit grants of single dashboards (DOMAIN, "Confidentiality and authority"). A deactivated
account has no authority at all: it sees nothing, whatever its session or cookie still holds
(README, "Production": "a deactivated user is out at once").

Dashboards (step 8, "show the Operational Center dashboard according to each stakeholder's
authority"). A viewer may open a dashboard on display only when the dashboard's level is within
their clearance, and then only when
  - the dashboard is granted to them by id; or
  - their scope is all of BPOM; or
  - their scope is a central unit, and that unit owns the dashboard or its audience includes
    central units; or
  - their scope is a UPT's region, and its audience includes the UPT.
An authorised party (scope "grant") sees only what is granted to them, and a grant never lifts a
viewer above their clearance.

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

#: Confidentiality levels, lowest first (the values the app stores).
LEVELS = ("terbuka", "terbatas", "rahasia", "sangat-rahasia")
#: Scopes of authority.
BPOM, UNIT, UPT, GRANT = "bpom", "unit", "upt", "grant"
#: Pusdatin's roles: they receive, verify, build and evaluate (steps 2-9).
PUSDATIN_ROLES = frozenset({"analis", "verifikator"})
#: Who sends data (step 1): central unit staff, UPT staff, other agencies.
SENDER_ROLES = frozenset({"unit", "upt", "mitra"})
#: Who speaks for a requesting unit in steps 5 and 10.
UNIT_SIDE_ROLES = frozenset({"unit", "direktur"})


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
class Person:
    """One user: what the administrator recorded for them."""

    username: str
    role: str
    clearance: str
    scope: str
    unit_code: str | None = None
    grants: frozenset[str] = frozenset()  # keys of the dashboards granted to them
    active: bool = True


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
    audience: frozenset[str]
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


def may_open(person: Person, dashboard: Dashboard) -> bool:
    """Whether ``person`` may open ``dashboard`` (step 8)."""
    if not person.active or not within(person.clearance, dashboard.level):
        return False
    if dashboard.key in person.grants:
        return True
    if person.scope == BPOM:
        return True
    if person.scope == UNIT:
        return person.unit_code == dashboard.owner_unit or UNIT in dashboard.audience
    if person.scope == UPT:
        return UPT in dashboard.audience
    return False  # scope "grant": only what is granted


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


def dashboard_values(person: Person, dashboard: Dashboard) -> set[str]:
    """What the display of ``dashboard`` may send ``person``: its title and the cells its panels
    show, by the data rules; nothing when they may not open it."""
    if not may_open(person, dashboard):
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


def analyst_preview_values(person: Person, mockup: Dashboard) -> set[str]:
    """What an analyst's preview of ``mockup`` may show them (step 4)."""
    if person.role != "analis":
        return set()
    return dashboard_values(person, mockup) - {mockup.title}


def review_values(person: Person, mockup: Dashboard, requesting_unit: str) -> set[str]:
    """What the review of ``mockup`` may show ``person`` (step 5): the requesting unit's own
    reviewers only, the data by the levels on main."""
    if person.role not in UNIT_SIDE_ROLES or person.unit_code != requesting_unit:
        return set()
    return dashboard_values(person, mockup) - {mockup.title}
