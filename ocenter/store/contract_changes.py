"""Changes to a data contract on branches of their own, merged into main only after two approvals.

A contract decides which fields exist and how confidential each is, for every dashboard that reads
it, so a change to it is never part of a mock-up: it is proposed on ``contract/<dataset>-<n>``
(made only by the app; the pre-receive hook refuses pushes there), may change nothing but that
one contract, and is merged with both approvers named on the merge commit.
"""

from __future__ import annotations

from ocenter.contracts.model import DataContract, contract_to_yaml
from ocenter.errors import Conflict, NotFound
from ocenter.store.merges import _MergeWords
from ocenter.store.models import Author, _RefMovedError
from ocenter.store.names import (
    MAIN_REF,
    ZERO_OID,
    _check_oid,
    _short,
    contract_change_branch,
    contract_path,
)


def _contract_words(dataset_id: str, number: int) -> _MergeWords:
    return _MergeWords(
        nothing="store.contract_nothing",
        outside="store.contract_outside_scope",
        author="store.contract_approver_is_author",
        invalid="store.contract_invalid",
        merge_invalid="store.contract_merge_invalid",
        conflict="store.contract_conflict",
        unrelated="store.contract_unrelated",
        params={"dataset": dataset_id, "number": number},
    )


class ContractChanges:
    """Proposing and merging contract changes; mixed into SpecStore."""

    def propose_contract(self, number: int, contract: DataContract, author: Author, message: str) -> str:
        """Open ``contract/<contract.id>-<number>`` from main with ``contract`` as its one
        change; returns the proposal's commit.

        ``number`` is the caller's new id, not yet committed anywhere, so a branch already under
        that name was left by a proposal that never reached the database and is replaced. The
        proposal is validated like any save: it must change the contract, and may not break a
        dashboard on main (UserError ``store.invalid_content``).
        """
        ref = f"refs/heads/{contract_change_branch(contract.id, number)}"
        main = self._ref_oid(MAIN_REF)
        if main is None:
            raise NotFound("store.main_missing")
        left = self._ref_oid(ref) or ZERO_OID
        try:
            return self._write_commit(
                ref=ref,
                old=left,
                parents=[main],
                base=self.snapshot(main),
                changes={contract_path(contract.id): contract_to_yaml(contract).encode()},
                author=author,
                message=message,
                trailers={"Contract-change": str(number), "Change-kind": "contract-proposal"},
            )
        except _RefMovedError as exc:
            raise Conflict("store.stale_head", branch=ref.removeprefix("refs/heads/"),
                           expected=_short(left), current=_short(exc.current)) from None

    def contract_change_head(self, dataset_id: str, number: int) -> str | None:
        """Commit at the tip of the change's branch; None when there is no such branch."""
        return self._ref_oid(f"refs/heads/{contract_change_branch(dataset_id, number)}")

    def merge_contract_change(
        self,
        dataset_id: str,
        number: int,
        reviewed_commit: str,
        approvers: list[Author],
        trailers: dict[str, str],
    ) -> str:
        """Merge the change into main, bound to the commit both approvers reviewed.

        Only ``data_contracts/<dataset_id>.yaml`` may differ from where the branch forked; no
        approver may have written on the branch; the merged main may have no new problem (a
        dashboard reading a field the change removes refuses it). The last approver authors
        the merge commit, which carries ``trailers`` (who approved for whom) and the change's
        number and reviewed commit.
        """
        _check_oid(reviewed_commit)
        head = self.contract_change_head(dataset_id, number)
        if head is None:
            raise NotFound("store.contract_change_not_found", dataset=dataset_id, number=number)
        if head != reviewed_commit:
            raise Conflict("store.contract_review_outdated", dataset=dataset_id, number=number,
                           reviewed=_short(reviewed_commit), current=_short(head))
        return self._merge_reviewed(
            head,
            contract_path(dataset_id),
            approvers,
            _contract_words(dataset_id, number),
            f"Merge change {number} of data contract {dataset_id}",
            {
                **trailers,
                "Contract-change": str(number),
                "Reviewed-commit": reviewed_commit,
                "Change-kind": "contract-change",
            },
        )
