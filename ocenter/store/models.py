"""What the store answers with: authors, snapshots, mock-ups, commits, merge previews and problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SkipValidation, field_validator

from ocenter.contracts.model import DataContract
from ocenter.display.lifecycle import DashboardLifecycle
from ocenter.display.spec import DashboardSpec
from ocenter.store.names import EMAIL_DOMAIN, LIFECYCLE_DIR, SPEC_DIR, USERNAME_PATTERN

#: One tree entry as ls-tree lists it: (mode, object type, object id).
_Entry = tuple[str, str, str]


class Author(BaseModel):
    """The logged-in user a commit is written for."""

    model_config = ConfigDict(frozen=True)

    username: str = Field(
        pattern=USERNAME_PATTERN,
        description="Login name; becomes the commit e-mail <username>@users.ocenter.invalid.",
        examples=["analis1"],
    )
    name: str = Field(
        min_length=1,
        max_length=200,
        description="Full name shown in the history.",
        examples=["Siti"],
    )

    @field_validator("name")
    @classmethod
    def _name_fits_git(cls, value: str) -> str:
        # Git drops or mangles these in identities, which would break the authorship record.
        if any(ch in value for ch in "<>\n\r\0") or not value.strip():
            raise ValueError("a name may not be blank or contain <, > or line breaks")
        return value.strip()

    @property
    def email(self) -> str:
        """The e-mail written into commits."""
        return f"{self.username}@{EMAIL_DOMAIN}"


class StoreSnapshot(BaseModel):
    """Everything in the store at one commit: parsed specs and contracts and what is wrong.

    Snapshots are cached and shared between threads: treat them (and their dicts) as read-only.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    commit: str = Field(description="Commit id the snapshot was read from.")
    tree: str = Field(description="Id of the commit's root tree.")
    specs: dict[str, DashboardSpec] = Field(
        description="Dashboards that parse and whose file name matches their id, by id."
    )
    contracts: dict[str, DataContract] = Field(
        description="Data contracts that parse and whose file name matches their id, by id."
    )
    lifecycle: dict[str, DashboardLifecycle] = Field(
        default_factory=dict,
        description="Steps 6-8 of each dashboard that has been through any (lifecycle/), by id.",
    )
    # Kept as made (``i18n.Said`` is a str): English for Git, in the reader's language on a page.
    problems: dict[str, list[Annotated[str, SkipValidation]]] = Field(
        description="What is wrong, by file path (parse errors and content problems): English "
                    "text, each a message a page can say in its reader's language (i18n.Said)."
    )
    _entries: dict[str, _Entry] = PrivateAttr(default_factory=dict)
    _spec_oids: dict[str, str] = PrivateAttr(default_factory=dict)
    _contract_oids: dict[str, str] = PrivateAttr(default_factory=dict)

    @property
    def is_valid(self) -> bool:
        """True when no file has a problem (a mock-up must be valid to be approved)."""
        return not self.problems

    def valid_specs(self) -> dict[str, DashboardSpec]:
        """Specs without any problem, by id: what can safely be shown."""
        return {k: v for k, v in self.specs.items() if f"{SPEC_DIR}/{k}.yaml" not in self.problems}

    def lifecycle_of(self, dashboard_id: str) -> DashboardLifecycle:
        """Steps 6-8 of the dashboard as recorded on this commit (none done when unrecorded)."""
        return self.lifecycle.get(dashboard_id) or DashboardLifecycle(id=dashboard_id)

    def displayed_specs(self) -> dict[str, DashboardSpec]:
        """Valid specs whose valid lifecycle record says step 8 put them on display, by id."""
        return {
            k: v
            for k, v in self.valid_specs().items()
            if k in self.lifecycle
            and self.lifecycle[k].on_display
            and f"{LIFECYCLE_DIR}/{k}.yaml" not in self.problems
        }


class MockupInfo(BaseModel):
    """One mock-up branch, made in the app or pushed with plain Git."""

    request_id: int = Field(description="Number of the dashboard request.")
    branch: str = Field(description="Branch name, mockup/req-<request_id>.")
    head: str = Field(description="Commit id at the tip of the branch.")
    base: str | None = Field(description="Merge base with main; None for an unrelated history.")
    authors: list[str] = Field(
        description="Usernames of everyone known to have taken part since the branch forked from "
        "main: who saved a revision in the app, who pushed a commit, who took pushed commits over."
    )
    unattributed: list[str] = Field(
        default_factory=list,
        description="Commits on the branch nobody is known to have written: pushed without an "
        "identity the store trusts and not taken over in the app. While any remain, nobody may "
        "approve the mock-up.",
    )
    updated_at: datetime = Field(description="Commit time of the head.")
    merged: bool = Field(description="True when the head is already contained in main (approved).")
    problems: dict[str, list[str]] = Field(description="Problems of the files at the head.")


class Participants(BaseModel):
    """Who took part in a mock-up, from records only the app and the store's hook write."""

    model_config = ConfigDict(frozen=True)

    people: list[str] = Field(
        description="Lower-cased usernames: the app users who saved, merged or took over a "
        "revision, and the pushers the hosting server named.",
        examples=[["analis", "dewi"]],
    )
    unattributed: list[str] = Field(
        description="Commit ids with neither record, newest first.",
    )


class CommitInfo(BaseModel):
    """One entry of a file's history."""

    sha: str = Field(description="Commit id.")
    parents: list[str] = Field(description="Parent commit ids; two for an approval.")
    author_username: str = Field(description="Username, or the e-mail for commits made outside the app.")
    author_name: str = Field(description="Author's full name.")
    date: datetime = Field(description="Author date.")
    subject: str = Field(description="First line of the message.")
    trailers: dict[str, str] = Field(
        description="Trailers of the message (Approved-by, Request, Reviewed-commit, ...)."
    )


class ConflictVersions(BaseModel):
    """One file that main and a mock-up both changed in ways git cannot combine, three ways."""

    path: str = Field(description="File path inside the store.", examples=["specs/dasbor-0003.yaml"])
    base: str | None = Field(
        description="The file where the mock-up forked from main (None: it did not exist there)."
    )
    main: str | None = Field(description="The file on main now (None: main deleted it).")
    mockup: str | None = Field(description="The file at the mock-up's head (None: deleted there).")


class MergePreview(BaseModel):
    """What merging main into a mock-up branch would give, computed without writing any ref."""

    request_id: int = Field(description="Number of the dashboard request.")
    head: str = Field(description="Commit id at the tip of the mock-up branch.")
    main: str = Field(description="Commit id at the tip of main.")
    base: str = Field(description="Merge base of the two.")
    up_to_date: bool = Field(description="True when main has nothing the mock-up lacks (no update needed).")
    clean: bool = Field(description="True when git merges the two without a conflict.")
    conflicts: list[ConflictVersions] = Field(
        description="Each conflicting file with its base, main and mock-up versions, by path."
    )

    @property
    def conflict_paths(self) -> list[str]:
        """The conflicting files, sorted."""
        return [c.path for c in self.conflicts]


class FileChange(BaseModel):
    """One file a branch changes relative to where it forked from main."""

    path: str = Field(
        description="File path inside the store, as git wrote it (a pushed name may be anything).",
        examples=["data_contracts/sampling-pengujian.yaml"],
    )
    change: Literal["added", "modified", "deleted", "type_changed"] = Field(
        description="What the branch does to it; a rename is a deletion and an addition."
    )


class StoreProblem(BaseModel):
    """One broken file found by ``validate_store``."""

    path: str = Field(description="File path inside the store.")
    message: str = Field(description="What is wrong, in English.")


@dataclass(frozen=True)
class _Parsed:
    """The result of parsing one blob as a spec or a contract."""

    model: DashboardSpec | DataContract | DashboardLifecycle | None
    errors: tuple[str, ...]


@dataclass
class _State:
    """What the files of one tree parse into, with the blob ids needed to update it cheaply."""

    specs: dict[str, DashboardSpec]
    contracts: dict[str, DataContract]
    problems: dict[str, list[str]]
    spec_oids: dict[str, str]
    contract_oids: dict[str, str]
    lifecycle: dict[str, DashboardLifecycle]


class _RefMovedError(Exception):
    """update-ref refused because the ref is not at the expected commit."""

    def __init__(self, current: str | None) -> None:
        super().__init__(current)
        self.current = current
