"""A whole dashboard rendered for one viewer: every panel filtered, aggregated, labelled and charted."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

import altair as alt
import pandas as pd
import pyarrow as pa

from ocenter.accounts.authority import Authority
from ocenter.contracts.model import DataContract
from ocenter.display.aggregation import PanelData
from ocenter.display.cache import DRAWN, DatasetView, VersionedTable
from ocenter.display.charts import panel_chart
from ocenter.display.filtering import can_view, viewer_cut
from ocenter.display.labels import filter_values, format_value, table_frame
from ocenter.display.lifecycle import DashboardLifecycle
from ocenter.display.spec import DashboardSpec, DefaultView, Panel, PanelFilter, PanelKind
from ocenter.display.stale import LAST_GOOD, tile_key
from ocenter.errors import PermissionDenied
from ocenter.i18n import t

# --- a whole dashboard --------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderedPanel:
    """One panel ready for the display page.

    Attributes:
        panel: the panel's spec (title, kind, width).
        data: its aggregate (None when its dataset has no data yet).
        chart: the Altair chart, for chart kinds with data.
        table: the labelled frame of a table panel.
        value_text: the formatted number of a KPI panel.
        message: why the panel shows nothing (restricted, no data, empty), in the viewer's language.
        stale_since: set when the dataset cannot be read now: this is the last good picture,
            and the dataset has failed to be read since then.
    """

    panel: Panel
    data: PanelData | None = None
    chart: alt.TopLevelMixin | None = None
    table: pd.DataFrame | None = None
    value_text: str | None = None
    message: str | None = None
    stale_since: datetime | None = None


def render_dashboard(
    spec: DashboardSpec,
    contracts: dict[str, DataContract],
    tables: dict[str, VersionedTable | pa.Table | pd.DataFrame],
    viewer: Authority,
    lang: str,
    lifecycle: DashboardLifecycle | None = None,
    unreadable: dict[str, datetime] | None = None,
) -> list[RenderedPanel]:
    """Every panel of ``spec`` as ``viewer`` may see it, with the step-7 default of their tier
    from the dashboard's ``lifecycle`` (a mock-up has none). A panel of a dataset in
    ``unreadable`` (which cannot be read, since when) shows its last good picture, marked stale.

    The aggregates of a stored version (a ``VersionedTable``) are kept by the process, keyed by
    the viewer's cut, and computed again only for a new version, contract, query or cut.

    Raises ``PermissionDenied`` when the viewer may not open the dashboard at all.
    """
    if not can_view(viewer, spec):
        raise PermissionDenied("render.denied")
    default = viewer_default(lifecycle, viewer)
    unreadable = unreadable or {}
    views: dict[str, DatasetView] = {}
    rendered: list[RenderedPanel] = []
    for panel in spec.panels:
        contract = contracts.get(panel.dataset)
        if contract is not None and panel.dataset in unreadable:
            key = tile_key(spec.id, panel.model_dump_json(), lang,
                           viewer_cut(contract, viewer, default).key)
            rendered.append(_stale(panel, LAST_GOOD.picture(key), unreadable[panel.dataset], lang))
            continue
        if contract is None or panel.dataset not in tables:
            rendered.append(RenderedPanel(panel=panel, message=t("render.no_data", lang)))
            continue
        if panel.dataset not in views:
            used = [n for p in spec.panels if p.dataset == panel.dataset for n in p.fields_used()]
            views[panel.dataset] = DatasetView(contract, tables[panel.dataset],
                                               viewer_cut(contract, viewer, default), used)
        drawn = _drawn(views[panel.dataset], panel, contract, lang)
        LAST_GOOD.keep(tile_key(spec.id, panel.model_dump_json(), lang, views[panel.dataset].cut.key),
                       drawn)
        rendered.append(drawn)
    return rendered


def _stale(panel: Panel, picture: object, since: datetime, lang: str) -> RenderedPanel:
    """The tile of a dataset that cannot be read since ``since``: its last good picture marked
    stale, or, when this process never drew one, a message saying so."""
    if isinstance(picture, RenderedPanel):
        return replace(picture, stale_since=since)
    return RenderedPanel(panel=panel, message=t("render.unreadable", lang), stale_since=since)


def _drawn(view: DatasetView, panel: Panel, contract: DataContract, lang: str) -> RenderedPanel:
    """The panel drawn from this viewer's aggregate; of a stored version, drawn once per
    language and kept (``cache.DRAWN``), under the aggregate's own key."""
    key = view.key(panel)
    if key is None:
        return _rendered(panel, view.panel(panel), contract, lang)
    item = DRAWN.get_or_compute((*key, lang),
                                lambda: _rendered(panel, view.panel(panel), contract, lang),
                                _drawn_bytes)
    # The caller's own panel (its title, id and width), and frames of its own over shared values.
    return replace(
        item,
        panel=panel,
        data=None if item.data is None else replace(item.data, frame=item.data.frame.copy(deep=False)),
        table=None if item.table is None else item.table.copy(deep=False),
    )


def _drawn_bytes(item: RenderedPanel) -> int:
    """An estimate: a chart's inline values and Altair objects take about ten times the
    aggregate's frame, plus a few KB of spec."""
    frame = 0 if item.data is None else int(item.data.frame.memory_usage(deep=True).sum())
    table = 0 if item.table is None else int(item.table.memory_usage(deep=True).sum())
    return 10 * frame + table + 16 * 1024


def viewer_default(lifecycle: DashboardLifecycle | None, viewer: Authority) -> DefaultView | None:
    """The step-7 default ``viewer`` gets: their tier's own, else (a record made before tiers)
    the one kept for their scope; None for a mock-up, which has no lifecycle record."""
    if lifecycle is None:
        return None
    return lifecycle.default_for(viewer.tier, viewer.scope)


# --- what the default leaves out ----------------------------------------------------------------


def default_notice(
    spec: DashboardSpec,
    contracts: dict[str, DataContract],
    viewer: Authority,
    default: DefaultView | None,
    lang: str,
) -> str | None:
    """One line telling ``viewer`` that their step-7 default narrows what they see, e.g.
    "Tampilan bawaan: hanya Kategori produk: Kosmetik (12 bulan terakhir)"; None when it
    narrows nothing.

    A condition names its field and the default's own values only when the viewer may see that
    field in every dataset of the dashboard that has it; a condition on any other field is told
    as "other conditions", without its field or values.
    """
    if default is None or not default.narrows:
        return None
    conditions: list[str] = []
    hidden = False
    for flt in default.filters:
        holders = [contracts[d] for d in spec.datasets if d in contracts and flt.field in
                   contracts[d].field_names()]
        if holders and all(viewer.may_see_level(c.highest_level([flt.field])) for c in holders):
            conditions.append(_condition(flt, holders[0], lang))
        else:
            hidden = True
    if hidden:
        conditions.append(t("display.default_other", lang))
    only = t("display.default_only", lang, conditions="; ".join(conditions)) if conditions else ""
    months = t("display.default_months", lang, months=default.months) if default.months else ""
    what = f"{only} ({months})" if only and months else only or months
    return t("display.default_notice", lang, what=what)


def _condition(flt: PanelFilter, contract: DataContract, lang: str) -> str:
    raw = flt.value if isinstance(flt.value, list) else [flt.value]
    field = contract.field(flt.field)
    values = ", ".join(filter_values(contract, flt.field, raw, lang))
    op = "in" if flt.op == "eq" else flt.op
    return t(f"display.default_{op}", lang, field=field.label_in(lang), values=values)


def _rendered(panel: Panel, data: PanelData, contract: DataContract, lang: str) -> RenderedPanel:
    if data.restricted:
        return RenderedPanel(panel=panel, data=data, message=t("render.restricted", lang))
    if data.missing_fields:
        message = t("render.field_missing", lang, fields=", ".join(data.missing_fields))
        return RenderedPanel(panel=panel, data=data, message=message)
    if panel.kind == PanelKind.KPI:
        return RenderedPanel(panel=panel, data=data, value_text=format_value(data.value, lang))
    if data.frame.empty:
        return RenderedPanel(panel=panel, data=data, message=t("render.empty", lang))
    note = t("render.truncated", lang) if data.truncated else None
    if panel.kind == PanelKind.TABLE:
        table = table_frame(panel, data, contract, lang)
        return RenderedPanel(panel=panel, data=data, table=table, message=note)
    chart = panel_chart(panel, data, contract, lang)
    if chart is None:
        return RenderedPanel(panel=panel, data=data, message=t("render.empty", lang))
    return RenderedPanel(panel=panel, data=data, chart=chart, message=note)
