"""Merges on the store: the preview of an approval, bringing main into a mock-up, and the approval."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ocenter.errors import Conflict, NotFound, PermissionDenied, UserError
from ocenter.store.models import Author, ConflictVersions, FileChange, MergePreview, _RefMovedError
from ocenter.store.names import (
    _APPROVAL_ATTEMPTS,
    MAIN,
    MAIN_REF,
    _check_oid,
    _check_path,
    _has_conflict_markers,
    _short,
    mockup_branch,
    spec_path,
)

#: git's status letters (diff-tree --name-status, renames off) in our words.
_CHANGE_KINDS = {"A": "added", "M": "modified", "D": "deleted", "T": "type_changed"}
#: Files named in one refusal message; the review page lists them all.
_LISTED_FILES = 20


@dataclass(frozen=True)
class _MergeWords:
    """The catalogue keys of an approval's refusals, and the values that name what is approved."""

    nothing: str
    outside: str
    author: str
    invalid: str
    merge_invalid: str
    conflict: str
    unrelated: str
    params: dict[str, object] = field(default_factory=dict)


def _mockup_words(request_id: int) -> _MergeWords:
    return _MergeWords(
        nothing="store.nothing_to_approve",
        outside="store.mockup_outside_scope",
        author="store.approver_is_author",
        invalid="store.mockup_invalid",
        merge_invalid="store.merge_invalid",
        conflict="store.merge_conflict",
        unrelated="store.unrelated_history",
        params={"request": request_id},
    )


def outside_scope(changes: list[FileChange], allowed: str) -> list[FileChange]:
    """The changes other than adding or editing ``allowed``: what an approval may not merge.

    Deleting the allowed file is outside too, and so is turning it into anything but a file.
    """
    return [c for c in changes if not (c.path == allowed and c.change in ("added", "modified"))]


def listing(changes: list[FileChange]) -> str:
    """The files for a refusal message. Messages are shown as Markdown and a pushed name may be
    anything, so every character but those of our own paths becomes '?'."""
    shown = [re.sub(r"[^A-Za-z0-9._/-]", "?", c.path)[:120] for c in changes[:_LISTED_FILES]]
    more = len(changes) - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


class Merges:
    """Approvals and updates of mock-ups from main; mixed into SpecStore."""

    def merge_preview(self, request_id: int) -> MergePreview:
        """What bringing main's newer commits into the mock-up would give: up to date, a clean
        three-way merge, or conflicts with the base, main and mock-up version of each file.

        Nothing is written but unreachable objects (``git merge-tree --write-tree``).
        """
        head = self._mockup_head(request_id)
        main, base = self._main_and_base(request_id, head)
        up_to_date = base == main
        clean, conflicts = True, []
        if not up_to_date:
            _, clean, stages = self._merge_stages(head, main)
            blobs = self._cat_blobs({oid for by_stage in stages.values() for oid in by_stage.values()})

            def text(oid: str | None) -> str | None:
                return None if oid is None else blobs[oid].decode("utf-8", "replace")

            conflicts = [
                ConflictVersions(path=path, base=text(s.get(1)), mockup=text(s.get(2)), main=text(s.get(3)))
                for path, s in sorted(stages.items())
            ]
        return MergePreview(
            request_id=request_id,
            head=head,
            main=main,
            base=base,
            up_to_date=up_to_date,
            clean=clean,
            conflicts=conflicts,
        )

    def update_mockup_from_main(
        self,
        request_id: int,
        resolved: dict[str, str | None],
        author: Author,
        expected_head: str,
        expected_main: str | None = None,
    ) -> str:
        """Merge main into the mock-up branch: a merge commit ON THE BRANCH, parents (head, main).

        Its tree is git's three-way merge with each conflicting file replaced by the analyst's
        resolution in ``resolved`` (path -> text; None deletes). Every conflicting file must be
        resolved, and only those; no conflict marker may be left; the result is validated like
        any save and the branch ref moves by compare-and-swap from ``expected_head``. With
        ``expected_main``, the merge is refused when main moved since the analyst looked, so a
        resolution is never applied to versions nobody saw.
        """
        branch = mockup_branch(request_id)
        _check_oid(expected_head)
        head = self._mockup_head(request_id)
        if head != expected_head:
            raise self._moved_error(branch, expected_head, head, request_id)
        main, base = self._main_and_base(request_id, head)
        if expected_main is not None and main != _check_oid(expected_main):
            raise self._moved_error(MAIN, expected_main, main)
        if base == main:
            raise UserError("history.already_current", request=request_id)
        tree, clean, stages = self._merge_stages(head, main)
        if not clean and not stages:  # a conflict git reports without a file to resolve
            raise Conflict("store.merge_conflict", request=request_id, files="?")
        unresolved = sorted(set(stages) - set(resolved))
        if unresolved:
            raise Conflict("history.unresolved", request=request_id, files=", ".join(unresolved))
        unexpected = sorted(set(resolved) - set(stages))
        if unexpected:
            raise UserError("history.not_conflicting", files=", ".join(unexpected)[:400])
        marked = sorted(p for p, t in resolved.items() if t is not None and _has_conflict_markers(t))
        if marked:
            raise UserError("history.markers_left", files=", ".join(marked))

        head_snap = self.snapshot(head)
        main_snap = self.snapshot(main)
        entries = self._list_tree(tree)
        merged = self._make_snapshot(tree, tree, entries, self._derive(head_snap, entries))
        # The update may not add a problem that neither side had.
        baseline = {
            path: [*main_snap.problems.get(path, []), *head_snap.problems.get(path, [])]
            for path in main_snap.problems.keys() | head_snap.problems.keys()
        }
        try:
            return self._write_commit(
                ref=f"refs/heads/{branch}",
                old=head,
                parents=[head, main],
                base=merged,
                baseline=baseline,
                changes={p: (t.encode() if t is not None else None) for p, t in resolved.items()},
                author=author,
                message=f"Update mock-up of request {request_id} from main",
                trailers={
                    "Request": str(request_id),
                    "Merged-main": main,
                    **({"Resolved": ", ".join(sorted(resolved))} if resolved else {}),
                    "Change-kind": "mockup-update",
                },
                allow_empty=True,
            )
        except _RefMovedError as exc:
            raise self._moved_error(branch, expected_head, exc.current, request_id) from None

    def approve(
        self,
        request_id: int,
        reviewed_commit: str,
        approver: Author,
        trailers: dict[str, str] | None = None,
        *,
        dashboard_id: str,
    ) -> str:
        """Merge the mock-up into main, bound to exactly the commit the approver reviewed;
        ``trailers`` are added to the merge's own (``Decided-at``, for one).

        A mock-up may change only its own dashboard's spec, ``specs/<dashboard_id>.yaml``:
        any other file the branch adds, changes or deletes since it forked from main (another
        unit's spec, a data contract, a file outside the store's folders) refuses the whole
        approval (UserError), and nothing is merged. Refused also when the branch moved since
        the review (Conflict), when the approver wrote any commit on it (PermissionDenied), when
        a file on it is invalid (UserError), or when the three-way merge with main conflicts
        (Conflict, naming the files). An approver who took part in the branch, or any commit on it
        with no known writer (see ``ocenter.store.authorship``), refuses it too (PermissionDenied).
        """
        _check_oid(reviewed_commit)
        allowed = spec_path(dashboard_id)
        head = self._mockup_head(request_id)
        if head != reviewed_commit:
            raise Conflict(
                "store.review_outdated",
                request=request_id,
                reviewed=_short(reviewed_commit),
                current=_short(head),
            )
        return self._merge_reviewed(
            head,
            allowed,
            [approver],
            _mockup_words(request_id),
            f"Approve mock-up of request {request_id}",
            {
                "Approved-by": approver.username,
                "Request": str(request_id),
                "Reviewed-commit": reviewed_commit,
                **(trailers or {}),
                "Change-kind": "approval",
            },
        )

    def mockup_scope(self, request_id: int, dashboard_id: str, rev: str | None = None) -> list[FileChange]:
        """The files the mock-up at ``rev`` (default: its head) changes since it forked from
        main besides its own spec ``specs/<dashboard_id>.yaml``: each one blocks its approval."""
        head = self._mockup_rev(request_id, rev)
        _, base = self._main_and_base(request_id, head)
        return outside_scope(self.branch_changes(base, head), spec_path(dashboard_id))

    def mockup_diff(self, request_id: int, rev: str | None = None, path: str | None = None) -> str:
        """What the mock-up at ``rev`` (default: its head) changes, as a unified diff from its
        merge base with main to ``rev`` (optionally of ``path`` alone): the change an approval
        brings in. Never from main's tip: what main received since the mock-up began (other
        units' dashboards, of any level) is no part of the mock-up and stays out of its diff."""
        head = self._mockup_rev(request_id, rev)
        _, base = self._main_and_base(request_id, head)
        return self._diff_text(base, head, path)

    def branch_changes(self, base: str, head: str) -> list[FileChange]:
        """Every file ``head`` changes relative to ``base``, sorted by path. Without rename
        detection: a renamed file is one deletion and one addition."""
        out = self._git(
            ["diff-tree", "-r", "-z", "--no-renames", "--name-status", _check_oid(base), _check_oid(head)]
        ).stdout
        fields = out.split(b"\0")
        changes = []
        for status, path in zip(fields[0::2], fields[1::2], strict=False):
            kind = _CHANGE_KINDS.get(status.decode("ascii", "replace")[:1])
            if kind is None:  # (no other letter can come out of a tree diff without renames)
                raise RuntimeError(f"unexpected git status {status!r}")
            changes.append(FileChange(path=path.decode("utf-8", "replace"), change=kind))
        return sorted(changes, key=lambda c: c.path)

    def _merge_reviewed(
        self,
        head: str,
        allowed: str,
        approvers: list[Author],
        words: _MergeWords,
        subject: str,
        trailers: dict[str, str],
    ) -> str:
        """Merge the reviewed ``head`` into main: only ``allowed`` may change, nobody in
        ``approvers`` may have written on the branch, every file must be valid and the merge
        may add no problem to main. The last approver authors the merge commit."""
        params = words.params
        for _ in range(_APPROVAL_ATTEMPTS):
            main = self._ref_oid(MAIN_REF)
            if main is None:
                raise NotFound("store.main_missing")
            base = self._merge_base(main, head)
            if base is None:
                raise UserError(words.unrelated, **params)
            if base == head:
                raise UserError(words.nothing, **params)
            # What the approval changes is decided by what the branch changes since it forked:
            # the merge applies exactly that to main.
            outside = outside_scope(self.branch_changes(base, head), allowed)
            if outside:
                raise UserError(words.outside, **params, allowed=allowed, files=listing(outside))
            people = self._participants(main, head)
            for approver in approvers:
                if approver.username.lower() in people.people:
                    raise PermissionDenied(words.author, username=approver.username, **params)
            if people.unattributed and "request" in params:
                # A commit no one is known to have written might be any approver's own.
                self._require_independent(approvers[-1], main, head, params["request"])
            branch_snap = self.snapshot(head)
            if branch_snap.problems:
                raise UserError(words.invalid, **params, reasons=self._reasons(branch_snap.problems))
            main_snap = self.snapshot(main)
            if base == main:
                tree, entries = branch_snap.tree, branch_snap._entries
            else:
                tree, clean, stages = self._merge_stages(main, head)
                if not clean:
                    raise Conflict(words.conflict, **params, files=", ".join(sorted(stages)) or "?")
                entries = self._list_tree(tree)
            state = self._derive(main_snap, entries)
            new = self._new_problems(main_snap.problems, state.problems)
            if new:
                raise UserError(words.merge_invalid, **params, reasons=new)
            message = self._message(subject, trailers)
            commit = self._commit_tree(tree, [main, head], approvers[-1], message)
            try:
                self._move_ref(MAIN_REF, commit, main)
            except _RefMovedError:
                continue  # another approval landed first: merge again with the new main
            self._cache_put(commit, self._make_snapshot(commit, tree, entries, state))
            return commit
        raise UserError("store.busy")

    def merge_base(self, rev_a: str, rev_b: str) -> str:
        """The commit where ``rev_b`` forked from ``rev_a`` (say main and a proposal)."""
        a, _ = self._resolve(rev_a)
        b, _ = self._resolve(rev_b)
        base = self._merge_base(a, b)
        if base is None:
            raise NotFound("store.revision_not_found", rev=f"{_short(a)}...{_short(b)}")
        return base

    def _mockup_rev(self, request_id: int, rev: str | None) -> str:
        """The commit ``rev`` names (a commit id), or the mock-up's head when it is None."""
        if rev is None:
            return self._mockup_head(request_id)
        return self._resolve(_check_oid(rev))[0]

    def _diff_text(self, base: str, head: str, path: str | None = None) -> str:
        args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv", "-M"]
        args += [_check_oid(base), _check_oid(head)]
        if path is not None:
            args += ["--", _check_path(path)]
        return self._git(args).stdout.decode("utf-8", "replace")

    def _mockup_head(self, request_id: int) -> str:
        head = self._ref_oid(f"refs/heads/{mockup_branch(request_id)}")
        if head is None:
            raise NotFound("store.mockup_not_found", request=request_id)
        return head

    def _merge_base(self, a: str | None, b: str) -> str | None:
        if a is None:
            return None
        proc = self._git(["merge-base", a, b], ok_codes=(0, 1))
        return proc.stdout.decode().strip() or None

    def _main_and_base(self, request_id: int, head: str) -> tuple[str, str]:
        """main's head and its merge base with a mock-up's ``head``."""
        main = self._ref_oid(MAIN_REF)
        if main is None:
            raise NotFound("store.main_missing")
        base = self._merge_base(main, head)
        if base is None:
            raise UserError("store.unrelated_history", request=request_id)
        return main, base

    def _merge_stages(self, ours: str, theirs: str) -> tuple[str, bool, dict[str, dict[int, str]]]:
        """git's three-way merge of two commits: the merged tree (conflicting files hold
        conflict markers), whether it is clean, and for each conflicting path the blob id of
        each stage present (1 base, 2 ours, 3 theirs)."""
        proc = self._git(["merge-tree", "--write-tree", "-z", "--no-messages", ours, theirs], ok_codes=(0, 1))
        tree, *records = [f for f in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if f]
        stages: dict[str, dict[int, str]] = {}
        for entry in records:
            meta, _, path = entry.partition("\t")
            _, oid, stage = meta.split(" ")
            stages.setdefault(path, {})[int(stage)] = _check_oid(oid)
        return _check_oid(tree), proc.returncode == 0, stages
