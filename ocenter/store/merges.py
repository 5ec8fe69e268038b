"""Merges on the store: the preview of an approval, bringing main into a mock-up, and the approval."""

from __future__ import annotations

from ocenter.errors import Conflict, NotFound, UserError
from ocenter.store.models import Author, ConflictVersions, MergePreview, _RefMovedError
from ocenter.store.names import (
    _APPROVAL_ATTEMPTS,
    MAIN,
    MAIN_REF,
    _check_oid,
    _has_conflict_markers,
    _short,
    mockup_branch,
)


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

    def approve(self, request_id: int, reviewed_commit: str, approver: Author) -> str:
        """Merge the mock-up into main, bound to exactly the commit the approver reviewed.

        Refused when the branch moved since the review (Conflict), when the approver took part
        in it or some commit on it has no known writer (PermissionDenied, see
        ``ocenter.store.authorship``), when a file on it is invalid (UserError), or when the
        three-way merge with main conflicts (Conflict, naming the files).
        """
        _check_oid(reviewed_commit)
        head = self._mockup_head(request_id)
        if head != reviewed_commit:
            raise Conflict(
                "store.review_outdated",
                request=request_id,
                reviewed=_short(reviewed_commit),
                current=_short(head),
            )
        for _ in range(_APPROVAL_ATTEMPTS):
            main, base = self._main_and_base(request_id, head)
            if base == head:
                raise UserError("store.nothing_to_approve", request=request_id)
            self._require_independent(approver, main, head, request_id)
            branch_snap = self.snapshot(head)
            if branch_snap.problems:
                raise UserError(
                    "store.mockup_invalid",
                    request=request_id,
                    reasons=self._reasons(branch_snap.problems),
                )
            main_snap = self.snapshot(main)
            if base == main:
                tree, entries = branch_snap.tree, branch_snap._entries
            else:
                tree = self._merge_tree(main, head, request_id)
                entries = self._list_tree(tree)
            state = self._derive(main_snap, entries)
            new = self._new_problems(main_snap.problems, state.problems)
            if new:
                raise UserError("store.merge_invalid", request=request_id, reasons=new)
            message = self._message(
                f"Approve mock-up of request {request_id}",
                {
                    "Approved-by": approver.username,
                    "Request": str(request_id),
                    "Reviewed-commit": reviewed_commit,
                    "Change-kind": "approval",
                },
            )
            commit = self._commit_tree(tree, [main, head], approver, message)
            try:
                self._move_ref(MAIN_REF, commit, main)
            except _RefMovedError:
                continue  # another approval landed first: merge again with the new main
            self._cache_put(commit, self._make_snapshot(commit, tree, entries, state))
            return commit
        raise UserError("store.busy")


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

    def _merge_tree(self, main: str, head: str, request_id: int) -> str:
        proc = self._git(
            ["merge-tree", "--write-tree", "--name-only", "-z", "--no-messages", main, head],
            ok_codes=(0, 1),
        )
        fields = [f for f in proc.stdout.decode("utf-8", "replace").split("\0") if f]
        if proc.returncode == 1:
            files = ", ".join(sorted(set(fields[1:]))) or "?"
            raise Conflict("store.merge_conflict", request=request_id, files=files)
        return _check_oid(fields[0])
