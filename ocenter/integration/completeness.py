"""How complete a dataset is: which senders have sent their part for a month, and how recent it is."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from ocenter.contracts.model import DataContract
from ocenter.integration.partitions import PartitionKey, PartitionState
from ocenter.models import PartitionAction
from ocenter.reference import reference_codes


class SenderStatus(StrEnum):
    """Where one sender stands for one month."""

    SENT = "sent"  # rows accepted for the month
    EMPTY = "empty"  # stated it has nothing to report for the month
    MISSING = "missing"  # nothing accepted yet


class SenderCompleteness(BaseModel):
    """One sender's part of a dataset for one month."""

    sender: str = Field(description="Sender code, e.g. a UPT code.", examples=["UPT-3273"])
    status: SenderStatus = Field(description="Sent, declared empty, or missing.")
    rows: int = Field(description="Rows accepted for the month.")
    decided_at: datetime | None = Field(description="When the month's current version was decided.")
    newest_period: str | None = Field(description="Newest month the sender has rows for, YYYY-MM.")


class Completeness(BaseModel):
    """A dataset's senders for one month: who has sent, who has said there is nothing, who not."""

    dataset_id: str = Field(description="Data contract id.")
    period: str | None = Field(description="The month, YYYY-MM; None when the dataset has no months.")
    expected: int = Field(description="Senders expected: the sender field's reference list, or all seen.")
    reported: int = Field(description="Senders that sent rows or declared nothing to report.")
    newest_at: datetime | None = Field(description="When the newest partition version was decided.")
    senders: list[SenderCompleteness] = Field(description="Every expected or seen sender, by code.")


def expected_senders(contract: DataContract) -> list[str]:
    """Who should send a partitioned dataset: the codes of the sender field's reference list."""
    if contract.partitioning is None:
        return []
    field = contract.field(contract.partitioning.sender_field)
    return sorted(reference_codes(field.reference)) if field.reference else []


def periods_of(current: Mapping[PartitionKey, PartitionState]) -> list[str]:
    """Months that have any partition, oldest first."""
    return sorted({period for (_, period) in current if period})


def completeness(
    contract: DataContract,
    current: Mapping[PartitionKey, PartitionState],
    period: str | None = None,
) -> Completeness:
    """Who has sent for ``period`` (default: the newest month any sender has sent)."""
    periods = periods_of(current)
    if period is None and periods:
        period = periods[-1]
    month = period or ""
    expected = expected_senders(contract)
    seen = sorted({sender for (sender, _) in current})
    senders: list[SenderCompleteness] = []
    newest: dict[str, str] = {}
    for (sender, p), version in current.items():
        if version.rows and p > newest.get(sender, ""):
            newest[sender] = p
    for sender in sorted(set(expected) | set(seen)):
        version = current.get((sender, month))
        if version is None:
            status = SenderStatus.MISSING
        elif version.action == PartitionAction.DECLARED_EMPTY or not version.rows:
            status = SenderStatus.EMPTY
        else:
            status = SenderStatus.SENT
        senders.append(
            SenderCompleteness(
                sender=sender,
                status=status,
                rows=version.rows if version is not None else 0,
                decided_at=version.decided_at if version is not None else None,
                newest_period=newest.get(sender),
            )
        )
    decided = [v.decided_at for v in current.values()]
    return Completeness(
        dataset_id=contract.id,
        period=period,
        expected=len(expected) or len(seen),
        reported=sum(
            s.status != SenderStatus.MISSING for s in senders if not expected or s.sender in expected
        ),
        newest_at=max(decided) if decided else None,
        senders=senders,
    )


def grid(
    contract: DataContract, current: Mapping[PartitionKey, PartitionState], periods: Iterable[str]
) -> list[dict]:
    """Rows per sender and month, for the completeness chart (a cell for every expected sender)."""
    senders = sorted(set(expected_senders(contract)) | {s for (s, _) in current})
    cells = []
    for period in periods:
        for sender in senders:
            version = current.get((sender, period))
            if version is None:
                status = SenderStatus.MISSING
            elif not version.rows:
                status = SenderStatus.EMPTY
            else:
                status = SenderStatus.SENT
            cells.append({"sender": sender, "period": period, "rows": version.rows if version else 0,
                          "status": status.value})
    return cells
