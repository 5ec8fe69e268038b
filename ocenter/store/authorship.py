"""Who took part in a mock-up, for separation of duties: only from records nobody else can forge.

The author line of a commit is whatever its writer typed, so it decides nothing. A commit
counts as the work of:

- the app user who saved it, when the app wrote it: its author and committer e-mails are
  ``<username>@users.ocenter.invalid`` (the app writes every commit so, with a ``Change-kind``
  trailer), and the store's pre-receive hook refuses any pushed commit bearing that domain or
  that trailer, so no push can pose as the app;
- whoever pushed it, as the hosting server named them to the hook (``PUSHERS_FILE``);
- otherwise nobody known. Nobody can be shown not to have written such a commit, so while one
  is on the branch nobody may approve the mock-up; an analyst who has read the pushed commits
  takes them over in the app (a commit with ``Change-kind: takeover``), and from then on they
  count as that analyst's work: the analyst cannot approve them, anyone else may.
"""

from __future__ import annotations

import re

from ocenter.errors import PermissionDenied, UserError
from ocenter.store.models import Author, Participants, _RefMovedError
from ocenter.store.names import (
    _OID,
    EMAIL_DOMAIN,
    MAIN_REF,
    PUSHERS_FILE,
    USERNAME_PATTERN,
    _check_oid,
    _short,
    mockup_branch,
)

_USERNAME = re.compile(USERNAME_PATTERN)
#: The ``Change-kind`` of the commit by which an analyst takes over pushed commits.
TAKEOVER = "takeover"
# Commits named in a refusal (the rest are counted, not listed).
_NAMED_COMMITS = 10


class Authorship:
    """Participants of mock-ups and taking over pushed commits; mixed into SpecStore."""

    def participants(self, request_id: int) -> Participants:
        """Who took part in the mock-up of ``request_id`` since it forked from main, and which
        of its commits nobody is known to have written."""
        return self._participants(self._ref_oid(MAIN_REF), self._mockup_head(request_id))

    def take_over(self, request_id: int, author: Author, expected_head: str) -> str:
        """Record ``author`` as the writer of every commit on the mock-up that nobody is known to
        have written, as an empty commit on the branch (compare-and-swap from ``expected_head``,
        the revision whose commits the analyst read). Returns the new head."""
        branch = mockup_branch(request_id)
        _check_oid(expected_head)
        head = self._mockup_head(request_id)
        if head != expected_head:
            raise self._moved_error(branch, expected_head, head, request_id)
        unattributed = self._participants(self._ref_oid(MAIN_REF), head).unattributed
        if not unattributed:
            raise UserError("store.nothing_to_take_over", request=request_id)
        try:
            return self._write_commit(
                ref=f"refs/heads/{branch}",
                old=head,
                parents=[head],
                base=self._snapshot_at(head),
                changes={},
                author=author,
                message=f"Take over {len(unattributed)} pushed commit(s) of request {request_id}",
                trailers={
                    "Request": str(request_id),
                    "Taken-over": " ".join(unattributed),
                    "Change-kind": TAKEOVER,
                },
                allow_empty=True,
            )
        except _RefMovedError as exc:
            raise self._moved_error(branch, expected_head, exc.current, request_id) from None

    def _require_independent(self, approver: Author, main: str | None, head: str, request_id: int) -> None:
        """Refuse ``approver`` for the commits ``head`` adds to ``main`` when they took part, or
        when some commit has no known writer (it might be theirs)."""
        people = self._participants(main, head)
        if approver.username.lower() in people.people:
            raise PermissionDenied("store.approver_is_author", username=approver.username, request=request_id)
        if people.unattributed:
            named = ", ".join(_short(c) for c in people.unattributed[:_NAMED_COMMITS])
            more = len(people.unattributed) - _NAMED_COMMITS
            raise PermissionDenied(
                "store.approval_unattributed",
                request=request_id,
                commits=named + (f" (+{more})" if more > 0 else ""),
            )

    def _participants(self, main: str | None, head: str) -> Participants:
        """Participants of the commits ``head`` has and ``main`` lacks (see the module's rule)."""
        revs = [head, "--not", main] if main else [head]
        fmt = "%H%x1f%P%x1f%ae%x1f%ce%x1f%(trailers:key=Change-kind,valueonly,separator=%x2C)"
        out = self._git(["log", "-z", f"--format={fmt}", *revs]).stdout.decode("utf-8", "replace")
        pushers = self._pushers()
        people: set[str] = set()
        unknown: list[str] = []
        parents: dict[str, list[str]] = {}
        takeovers: list[tuple[str, str]] = []
        for record in out.split("\0"):
            fields = record.strip("\n").split("\x1f")
            if len(fields) < 2 or not _OID.fullmatch(fields[0]):
                continue
            sha = fields[0]
            parents[sha] = fields[1].split()
            writer = _app_user(fields[2]) if len(fields) == 5 else None
            if writer is not None and _app_user(fields[3]) == writer:
                people.add(writer)
                if TAKEOVER in fields[4].split(","):
                    takeovers.append((sha, writer))
            elif sha in pushers:
                people.update(pushers[sha])
            else:
                unknown.append(sha)
        for sha, _writer in takeovers:  # the writer of a take-over is a participant already
            covered = _ancestors(sha, parents)
            unknown = [c for c in unknown if c not in covered]
        return Participants(people=sorted(people), unattributed=unknown)

    def _pushers(self) -> dict[str, frozenset[str]]:
        """Who pushed each commit, from the hook's record (cached until the file changes)."""
        path = self.path / PUSHERS_FILE
        try:
            stat = path.stat()
        except FileNotFoundError:
            return {}
        version = (stat.st_size, stat.st_mtime_ns)
        with self._lock:
            cached = self._pushers_cache
        if cached is not None and cached[0] == version:
            return cached[1]
        found: dict[str, set[str]] = {}
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            sha, _, username = line.partition(" ")
            if _OID.fullmatch(sha) and _USERNAME.fullmatch(username):
                found.setdefault(sha, set()).add(username.lower())
        records = {sha: frozenset(names) for sha, names in found.items()}
        with self._lock:
            self._pushers_cache = (version, records)
        return records


def _app_user(email: str) -> str | None:
    """The username of an e-mail the app writes (``<username>@users.ocenter.invalid``), else None."""
    if not email.isascii():
        return None
    local, _, domain = email.lower().rpartition("@")
    return local if domain == EMAIL_DOMAIN and _USERNAME.fullmatch(local) else None


def _ancestors(sha: str, parents: dict[str, list[str]]) -> set[str]:
    """The commits of ``parents`` reachable from ``sha``'s parents (an explicit walk, no recursion)."""
    seen: set[str] = set()
    todo = list(parents.get(sha, []))
    while todo:
        commit = todo.pop()
        if commit in seen or commit not in parents:
            continue
        seen.add(commit)
        todo.extend(parents[commit])
    return seen
