"""Data integrated from all producers (SOP general description B.1): an accepted file replaces
exactly its sender's partitions, Pusdatin sees who has sent, and may go back to an earlier
version of a partition as a new, logged decision."""

from __future__ import annotations

import threading

from sqlmodel import Session, col, func, select

from ocenter.accounts.authority import Authority, require_role
from ocenter.accounts.levels import Role
from ocenter.context import AppContext
from ocenter.contracts.model import DataContract
from ocenter.errors import IntegrityError, NotFound, UserError
from ocenter.events import record
from ocenter.integration import integration_lock
from ocenter.integration.build import build_integrated, current_partitions, remove_builds
from ocenter.integration.completeness import Completeness, completeness, grid, periods_of
from ocenter.integration.partitions import (
    WHOLE_DATASET,
    PartitionKey,
    PartitionState,
    check_period,
    is_partitioned,
    keys_of,
)
from ocenter.models import (
    DatasetVersion,
    EmptyDeclaration,
    IntegratedDataset,
    PartitionAction,
    PartitionVersion,
    Submission,
    Unit,
    UnitKind,
)
from ocenter.procedure.common import (
    PUSDATIN_ROLES,
    contract_of,
    integrity_logged,
    log_integrity_failure,
)
from ocenter.storage import files_of
from ocenter.verification.datasets import dataset_dir, load_dataset, sha256_of_file

#: Units that may send every sender's partitions (a central unit compiles national data).
NATIONAL_SENDERS = (UnitKind.PUSAT, UnitKind.PUSDATIN)


def sender_codes(session: Session, unit_code: str) -> list[str] | None:
    """The sender codes a unit may send rows for: None (all) for a central unit, else its own."""
    unit = session.get(Unit, unit_code)
    if unit is not None and unit.kind in NATIONAL_SENDERS:
        return None
    return [unit_code]


def check_declaration(contract: DataContract, period: str) -> None:
    """Refuse a "nothing to report" statement the contract cannot place in a month."""
    if contract.partitioning is None or contract.partitioning.period_field is None:
        raise UserError("procedure.declaration_needs_months", dataset=contract.id)
    try:
        check_period(period)
    except ValueError:
        raise UserError("procedure.bad_period", period=period) from None


def integrate_accepted(
    ctx: AppContext,
    session: Session,
    contract: DataContract,
    submission: Submission,
    sha256: str,
    decided_by: str,
) -> None:
    """Record the partitions an accepted submission replaces and rebuild what dashboards read
    (in the caller's transaction; the files written are content-addressed, so a rollback leaves
    nothing that is read)."""
    declaration = session.get(EmptyDeclaration, submission.id)
    if declaration is not None:
        keys: dict[PartitionKey, int] = {(submission.unit_code, declaration.period): 0}
        action = PartitionAction.DECLARED_EMPTY
    elif not is_partitioned(contract):
        keys = {WHOLE_DATASET: submission.rows or 0}
        action = PartitionAction.ACCEPTED
    else:
        digest = _file_digests(session, contract.id).get(sha256)
        keys = keys_of(contract, load_dataset(ctx.home, contract.id, sha256, file_sha256=digest))
        action = PartitionAction.ACCEPTED
    for (sender, period), rows in sorted(keys.items()):
        session.add(PartitionVersion(
            dataset_id=contract.id, sender=sender, period=period,
            sha256=None if action == PartitionAction.DECLARED_EMPTY else sha256, rows=rows,
            action=action, submission_id=submission.id, decided_by=decided_by,
            decided_at=ctx.clock.now(),
        ))
    session.flush()
    build = _rebuild(ctx, session, contract, keys)
    shown = ", ".join(f"{s or '*'}/{p or '*'}" for s, p in sorted(keys)[:12])
    more = f" (+{len(keys) - 12})" if len(keys) > 12 else ""
    record(session, decided_by, "data.integrated", step=3, request_id=submission.request_id,
           submission_id=submission.id, outcome=action.value,
           detail=f"{len(keys)} partitions replaced: {shown}{more}; "
                  f"{build.rows if build else 0} rows integrated{_file_note(build)}")


def _file_note(build: IntegratedDataset | None) -> str:
    """The digest of the file dashboards now read, for the log: the hash-chained log then vouches
    for it too, should the database row and the file be altered together."""
    if build is None or build.file_sha256 is None:
        return ""
    return f"; file {build.sha256[:12]} sha256 {build.file_sha256}"


def _file_digests(session: Session, dataset_id: str) -> dict[str, str]:
    """The SHA-256 recorded for the bytes of every stored file of a dataset, by address."""
    digests: dict[str, str] = {}
    for table in (DatasetVersion, IntegratedDataset):
        rows = session.exec(
            select(table.sha256, table.file_sha256)
            .where(table.dataset_id == dataset_id, col(table.file_sha256).is_not(None))
        ).all()
        digests.update({address: digest for address, digest in rows})
    return digests


def _partition_states(session: Session, dataset_id: str) -> dict[PartitionKey, PartitionState]:
    """The current version of every partition, read as plain rows (a national dataset has
    thousands of partition versions: loading them as ORM objects on every acceptance was most of
    the cost of integrating a file)."""
    rows = session.exec(
        select(PartitionVersion.id, PartitionVersion.sender, PartitionVersion.period,
               PartitionVersion.sha256, PartitionVersion.rows, PartitionVersion.action,
               PartitionVersion.decided_at)
        .where(PartitionVersion.dataset_id == dataset_id)
    ).all()
    return current_partitions(PartitionState(*row) for row in rows)


def _rebuild(
    ctx: AppContext, session: Session, contract: DataContract, changed: dict[PartitionKey, int]
) -> IntegratedDataset | None:
    if session.get_bind().dialect.name == "postgresql":
        # Two acceptances of one dataset at once would each build from the partitions before
        # the other's, and the later build would drop the earlier one's rows. SQLite's writers
        # are one at a time already; on PostgreSQL the builds of a dataset take turns.
        session.exec(select(func.pg_advisory_xact_lock(func.hashtext(integration_lock(contract.id)))))
    current = _partition_states(session, contract.id)
    previous = session.exec(
        select(IntegratedDataset).where(IntegratedDataset.dataset_id == contract.id)
        .order_by(col(IntegratedDataset.id).desc())
    ).first()
    if previous is None and not any(v.sha256 for v in current.values()):
        return None  # only statements of nothing to report so far: nothing to show yet
    built = build_integrated(ctx.home, contract, current, previous.sha256 if previous else None,
                             changed, _file_digests(session, contract.id))
    integrated = IntegratedDataset(
        dataset_id=contract.id, sha256=built.sha256, rows=built.rows, partitions=built.partitions,
        built_at=ctx.clock.now(), newest_at=max(v.decided_at for v in current.values()),
        file_sha256=built.file_sha256,
    )
    session.add(integrated)
    if previous is not None and is_partitioned(contract):
        # Builds older than the one being replaced are no longer read by anyone (a page that
        # started before this change reads ``previous``); the partition versions can make them
        # again, so they are not kept.
        older = session.exec(
            select(IntegratedDataset.sha256)
            .where(IntegratedDataset.dataset_id == contract.id, IntegratedDataset.id < previous.id)
        ).all()
        remove_builds(ctx.home, contract.id, set(older) - {previous.sha256, built.sha256})
    return integrated


def restore_partition(
    ctx: AppContext, actor: Authority, version_id: int, note: str
) -> PartitionVersion:
    """Pusdatin goes back to an earlier version of one partition: a new decision, with a reason,
    that the log keeps; the later versions stay in the partition's history."""
    require_role(actor, Role.VERIFIKATOR)
    if not note.strip():
        raise UserError("procedure.restore_needs_reason")
    with integrity_logged(ctx, actor.username, step=3), Session(ctx.engine) as session:
        earlier = session.get(PartitionVersion, version_id)
        if earlier is None:
            raise NotFound("procedure.partition_version_missing", version=version_id)
        contract = contract_of(ctx, earlier.dataset_id)
        restored = PartitionVersion(
            dataset_id=earlier.dataset_id, sender=earlier.sender, period=earlier.period,
            sha256=earlier.sha256, rows=earlier.rows, action=PartitionAction.RESTORED,
            submission_id=earlier.submission_id, decided_by=actor.username, note=note.strip(),
            decided_at=ctx.clock.now(),
        )
        session.add(restored)
        session.flush()
        key = (earlier.sender, earlier.period)
        build = _rebuild(ctx, session, contract, {key: earlier.rows})
        record(session, actor.username, "data.partition_restored", step=3,
               submission_id=earlier.submission_id, outcome="restored",
               detail=f"{earlier.dataset_id} {earlier.sender or '*'}/{earlier.period or '*'} "
                      f"back to version {version_id} ({earlier.rows} rows; "
                      f"{build.rows if build else 0} rows integrated): {note.strip()[:300]}")
        session.commit()
        session.refresh(restored)
        return restored


def partition_history(
    ctx: AppContext, actor: Authority, dataset_id: str, sender: str, period: str
) -> list[PartitionVersion]:
    """Every version of one partition, newest first (Pusdatin)."""
    require_role(actor, *PUSDATIN_ROLES)
    with Session(ctx.engine) as session:
        return list(session.exec(
            select(PartitionVersion)
            .where(PartitionVersion.dataset_id == dataset_id, PartitionVersion.sender == sender,
                   PartitionVersion.period == period)
            .order_by(col(PartitionVersion.id).desc())
        ).all())


def _current(ctx: AppContext, dataset_id: str) -> dict[PartitionKey, PartitionState]:
    with Session(ctx.engine) as session:
        return _partition_states(session, dataset_id)


def completeness_of(
    ctx: AppContext, actor: Authority, dataset_id: str, period: str | None = None
) -> Completeness:
    """Which senders have and have not sent ``dataset_id`` for a month (default the newest)."""
    require_role(actor, *PUSDATIN_ROLES)
    return completeness(contract_of(ctx, dataset_id), _current(ctx, dataset_id), period)


def completeness_grid(
    ctx: AppContext, actor: Authority, dataset_id: str, months: int = 12
) -> list[dict]:
    """Rows per sender and month over the newest ``months`` months, for the completeness chart."""
    require_role(actor, *PUSDATIN_ROLES)
    current = _current(ctx, dataset_id)
    return grid(contract_of(ctx, dataset_id), current, periods_of(current)[-months:])


def data_status(ctx: AppContext, dataset_ids: list[str]) -> dict[str, Completeness]:
    """How complete and how recent each dataset a dashboard reads is (counts only, for its tiles;
    every viewer of the dashboard may see them)."""
    snapshot = ctx.store.snapshot("main")
    status: dict[str, Completeness] = {}
    for dataset_id in dataset_ids:
        contract = snapshot.contracts.get(dataset_id)
        if contract is not None:
            status[dataset_id] = _status_of(ctx, contract)
    return status


#: The last status of each dataset, with the mark it was read at; one entry per installation
#: and dataset.
_status: dict[tuple[str, str, str], tuple[tuple, Completeness]] = {}
_status_lock = threading.Lock()


def _status_of(ctx: AppContext, contract: DataContract) -> Completeness:
    """``completeness`` of the dataset, read again only when a partition version was added since
    (they are only ever added, so the newest id and the number of versions say so in one small
    query): every page run of a dashboard tile asks, and a national dataset has thousands."""
    key = (str(ctx.home), ctx.settings.database_url, contract.id)
    with Session(ctx.engine) as session:
        newest, count = session.exec(
            select(func.max(PartitionVersion.id), func.count())
            .where(PartitionVersion.dataset_id == contract.id)
        ).one()
        mark = (newest, count, contract.model_dump_json())
        with _status_lock:
            kept = _status.get(key)
        if kept is not None and kept[0] == mark:
            return kept[1]
        current = _partition_states(session, contract.id)
    result = completeness(contract, current)
    with _status_lock:
        _status[key] = (mark, result)
    return result


_reported: set[tuple[str, ...]] = set()
_reported_lock = threading.Lock()


def report_altered_file(ctx: AppContext, seen_by: str, error: IntegrityError) -> None:
    """Log that a file a dashboard reads was found altered (step 8, the display): once per
    process and altered file, since the wall screen reads its dashboards again every few
    seconds and one entry says it all."""
    key = (str(ctx.home), *(str(error.params.get(name)) for name in ("dataset_id", "address", "found")))
    with _reported_lock:
        if key in _reported:
            return
        _reported.add(key)
    log_integrity_failure(ctx, seen_by, error, step=8)


def seal_stored_files(ctx: AppContext) -> int:
    """Record the SHA-256 of stored files that have none (kept before this version recorded
    digests), as they are now, and say so in the log; from then on they are checked like the
    others. Returns how many were sealed."""
    with Session(ctx.engine) as session:
        unsealed = [
            *session.exec(select(DatasetVersion).where(col(DatasetVersion.file_sha256).is_(None))),
            *session.exec(select(IntegratedDataset).where(col(IntegratedDataset.file_sha256).is_(None))),
        ]
        sealed: list[str] = []
        for row in unsealed:
            path = dataset_dir(ctx.home, row.dataset_id) / f"{row.sha256}.parquet"
            if files_of(path).fetch(path):  # a build no one reads any more was removed: nothing to seal
                row.file_sha256 = sha256_of_file(path)
                sealed.append(f"{row.dataset_id}/{row.sha256[:12]}")
        if sealed:
            record(session, "system", "data.files_sealed",
                   detail=f"{len(sealed)} stored files had no recorded digest; sealed as they are "
                          f"now: {', '.join(sorted(set(sealed))[:20])}")
        session.commit()
        return len(sealed)
