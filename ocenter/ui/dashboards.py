"""Dashboards on a page: the stored datasets read once per process, every tile drawn for the
viewer (its level, how complete and recent its data is, a stale or altered file said so), on a
laptop or on the wall."""

from __future__ import annotations

import streamlit as st
from pyarrow import ArrowException

from ocenter.accounts.authority import Authority
from ocenter.context import AppContext
from ocenter.display.wall_theme import dark_chart
from ocenter.errors import IntegrityError, NotFound
from ocenter.ui.text import lang, literal, tr, tr_plain, when
from ocenter.verification.datasets import open_dataset

# --- dashboards -------------------------------------------------------------------------------


@st.cache_resource(max_entries=32, show_spinner=False)
def _dataset_table(home: str, dataset_id: str, sha256: str, file_sha256: str | None,
                   stamp: tuple[int, ...]):  # noqa: ANN202 - verification.datasets.StoredFile
    """A stored dataset file, read once per process and shared by every user, its columns
    parsed when a dashboard first needs them (filtering by authority happens after this, per
    viewer cut: ``ocenter.display.cache``).

    Only a file whose bytes matched ``file_sha256`` is cached (a mismatch raises, and Streamlit
    caches no exception), under the digest it was verified against. ``stamp`` (the file's
    inode, size, modification and change times) makes an edit on disk a cache miss, so the file
    is checked again at once rather than at the next restart; an unchanged stamp serves the
    verified copy in memory, never the bytes now on disk.
    """
    from pathlib import Path

    return open_dataset(Path(home), dataset_id, sha256, file_sha256=file_sha256)


def _stamp(ctx: AppContext, dataset_id: str, sha256: str) -> tuple[int, ...]:
    from ocenter.verification.datasets import dataset_dir

    try:
        status = (dataset_dir(ctx.home, dataset_id) / f"{sha256}.parquet").stat()
    except FileNotFoundError:
        return ()
    return (status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def dashboard_tables(
    ctx: AppContext, dataset_ids: list[str], viewer: Authority
) -> tuple[dict, dict, dict]:
    """The newest integrated table of each dataset the dashboard reads (missing ones left out),
    each with its content's version (``display.cache.VersionedTable``); the datasets whose file
    no longer matches its recorded digest (logged, never read); and those that cannot be read
    now (a file gone or unreadable), with since when."""
    from ocenter.display.cache import VersionedTable, stored_version
    from ocenter.display.stale import LAST_GOOD
    from ocenter.procedure.data_intake import latest_versions
    from ocenter.procedure.data_integration import report_altered_file

    versions = latest_versions(ctx)
    tables: dict = {}
    altered: dict[str, IntegrityError] = {}
    unreadable: dict = {}
    for dataset_id in dataset_ids:
        build = versions.get(dataset_id)
        if build is None:
            continue
        stamp = _stamp(ctx, dataset_id, build.sha256)
        try:
            stored = _dataset_table(str(ctx.home), dataset_id, build.sha256, build.file_sha256, stamp)
            tables[dataset_id] = VersionedTable(stored, stored_version(
                str(ctx.home), dataset_id, build.sha256, build.file_sha256, stamp))
        except IntegrityError as error:
            altered[dataset_id] = error
            report_altered_file(ctx, viewer.username, error)
        except (NotFound, OSError, ArrowException):
            unreadable[dataset_id] = LAST_GOOD.failing(dataset_id, ctx.clock.now())
        else:
            LAST_GOOD.readable(dataset_id)
    return tables, altered, unreadable


def show_dashboard(  # noqa: ANN001 - a spec, and a lifecycle record of display.lifecycle
    ctx: AppContext, spec, contracts: dict, viewer: Authority, lifecycle=None, *,
    wall: bool = False, record: bool = False,
) -> None:
    """Render ``spec`` for ``viewer``: data filtered and aggregated on the server, then drawn,
    with the step-7 default of the viewer's tier from its ``lifecycle`` (None for a mock-up),
    saying so above the tiles when it narrows what they see; each tile says its data's level and
    how complete and how recent its data is. A tile whose data file was altered says so instead,
    and shows nothing of it; one whose data cannot be read now keeps its last good picture,
    marked stale. A viewer who may not open ``spec`` is told so, and nothing of it is read or
    drawn. On a wall screen (``wall``) the tiles are sized to fit 1920x1080 without scrolling.
    On the display (``record``) the view and the tiles that failed are counted for step 9's
    monitoring (``display.usage``); a failure to count is logged and the dashboard still shown."""
    from ocenter.display.filtering import can_view
    from ocenter.display.render import default_notice, render_dashboard, viewer_default
    from ocenter.procedure.data_integration import data_status
    from ocenter.procedure.wall import row_heights

    if not can_view(viewer, spec):
        st.info(tr("render.denied"))
        return
    tables, altered, unreadable = dashboard_tables(ctx, spec.datasets, viewer)
    if record:
        _count_use(ctx, spec, viewer, altered, unreadable)
    missing = [d for d in spec.datasets if d not in tables and d not in altered and d not in unreadable]
    if missing:
        st.info(tr("display.no_data", datasets=", ".join(missing)))
    rendered = render_dashboard(spec, contracts, tables, viewer, lang(), lifecycle, unreadable)
    # Told when the step-7 default narrows what this viewer sees (plain text: values are data).
    notice = default_notice(spec, contracts, viewer, viewer_default(lifecycle, viewer), lang())
    if notice and wall:
        st.caption(literal(notice))
    elif notice:
        st.text(notice)
    status = data_status(ctx, list(tables))
    rows = _rows_of_three(rendered)
    heights = row_heights([[item.panel.kind.value == "kpi" for item in row] for row in rows]) \
        if wall else [None] * len(rows)
    for row, height in zip(rows, heights, strict=True):
        for column, item in zip(st.columns([item.panel.width for item in row]), row, strict=True):
            with column:
                if item.panel.dataset in altered:
                    _show_altered(item)
                else:
                    contract = contracts.get(item.panel.dataset)
                    note = _tile_note(item, contract, status.get(item.panel.dataset), short=wall)
                    _show_panel(item, note, height=height, dark=wall)


def _count_use(ctx: AppContext, spec, viewer: Authority, altered: dict,  # noqa: ANN001 - a spec
               unreadable: dict) -> None:
    """Count this view of ``spec`` and its tiles that cannot be drawn (step 9's monitoring)."""
    from ocenter.display.usage import FailureKind, note_failures, note_view

    now = ctx.clock.now()
    note_view(ctx.engine, spec.id, viewer, now)
    failed = [(p.id, p.dataset, FailureKind.ALTERED if p.dataset in altered else FailureKind.UNREADABLE)
              for p in spec.panels if p.dataset in altered or p.dataset in unreadable]
    if failed:
        note_failures(ctx.engine, spec.id, failed, now)


def _tile_note(item, contract, status, *, short: bool = False) -> str:  # noqa: ANN001 - RenderedPanel, DataContract, Completeness
    """A tile's caption: the level of the data it shows, and how complete and recent it is (on
    the wall, ``short``: the level and when the data was updated, on one line)."""
    parts = []
    if contract is not None:
        known = set(contract.field_names())
        level = contract.highest_level([n for n in item.panel.fields_used() if n in known])
        parts.append(tr(f"level.{level.value}"))
    if status is not None and short:
        parts.append(tr("wall.as_of", at=when(status.newest_at) if status.newest_at else "-"))
    elif status is not None:
        parts.append(data_note(status))
    return " · ".join(parts)


def _show_altered(item) -> None:  # noqa: ANN001 - render.RenderedPanel
    with st.container(border=True):
        st.markdown(f"**{literal(item.panel.title_in(lang()))}**")
        st.error(tr("dataset.integrity_tile", dataset_id=item.panel.dataset),
                 icon=":material/error:")


def data_note(status) -> str:  # noqa: ANN001 - integration.completeness.Completeness
    """How complete and how recent a dataset is, in one line for a dashboard tile."""
    at = when(status.newest_at) if status.newest_at else "-"
    if status.period is None:
        return tr("completeness.tile_plain", at=at)
    return tr("completeness.tile", period=status.period, reported=status.reported,
              expected=status.expected, at=at)


def _rows_of_three(items: list) -> list[list]:
    """Panels in reading order, packed into rows of at most three grid columns."""
    rows: list[list] = []
    used = 3
    for item in items:
        if used + item.panel.width > 3:
            rows.append([])
            used = 0
        rows[-1].append(item)
        used += item.panel.width
    return rows


def _show_panel(  # noqa: ANN001 - render.RenderedPanel
    item, note: str | None = None, *, height: int | None = None, dark: bool = False
) -> None:
    title = item.panel.title_in(lang())
    with st.container(border=True):
        st.markdown(f"**{literal(title)}**")
        if note:
            st.caption(note)
        if item.stale_since is not None:
            st.warning(tr("render.stale_since", since=when(item.stale_since)), icon=":material/history:")
        if item.data is None or item.data.restricted:
            st.caption(literal(item.message or tr_plain("render.restricted")))
            return
        if item.value_text is not None:
            # Written the viewer's way by the renderer (12.345 or 12,345).
            st.metric(literal(title), item.value_text, label_visibility="collapsed")
        elif item.chart is not None:
            chart = item.chart if height is None else item.chart.properties(height=height)
            if dark:
                st.altair_chart(dark_chart(chart), width="stretch", theme=None)
            else:
                st.altair_chart(chart, width="stretch")
        elif item.table is not None:
            # Headers are labels in the viewer's language, cells names and written numbers.
            st.dataframe(item.table, hide_index=True, width="stretch", height=height or "auto")
        if item.message:
            st.caption(literal(item.message))
