"""Kalender Kerja: the national holidays, cuti bersama and corrections every due day is counted on."""

import streamlit as st

from ocenter import procedure, ui
from ocenter.models import CalendarEntryKind
from ocenter.procedure import work_calendar

ctx, viewer = ui.page("kalender-kerja")
st.caption(ui.tr("calendar.explain"))
today = ctx.clock.today()
years = list(range(today.year - 2, today.year + 3))
year = st.selectbox(ui.tr("calendar.year"), options=years, index=years.index(today.year),
                    key="calendar_year")
st.caption(ui.tr("calendar.working_days", year=year,
                 count=procedure.calendar_of(ctx).working_days_in(year)))

# Names and decrees are what an administrator typed: they reach the page as table cells and
# widget options, shown as plain text, never as Markdown.
show_removed = st.toggle(ui.tr("calendar.show_removed"), key="calendar_show_removed")
days = procedure.calendar_year(ctx, viewer, year, include_removed=show_removed, lang=ui.lang())
if not any(d.kind == CalendarEntryKind.CUTI_BERSAMA and d.in_effect for d in days):
    st.warning(ui.tr("calendar.no_cuti_bersama", year=year))
rows = []
for day in days:
    state = "in_effect" if day.in_effect else "removed" if day.removed_at else "cancelled"
    row = {
        ui.tr_plain("calendar.col_date"): day.day.isoformat(),
        ui.tr_plain("calendar.col_weekday"): ui.tr_plain(f"calendar.weekday.{day.day.weekday()}"),
        ui.tr_plain("calendar.col_name"): day.name,
        ui.tr_plain("calendar.col_kind"): ui.tr_plain(f"calendar.kind.{day.kind or 'national'}"),
        ui.tr_plain("calendar.col_source"): ui.tr_plain(
            "calendar.source.database" if day.kind else "calendar.source.package"),
        ui.tr_plain("calendar.col_state"): ui.tr_plain(f"calendar.state.{state}"),
        ui.tr_plain("calendar.col_decree"): day.decree,
        ui.tr_plain("calendar.col_entered_by"): day.entered_by or "",
        ui.tr_plain("calendar.col_entered_at"): ui.when(day.entered_at) if day.entered_at else "",
    }
    if show_removed:
        row |= {ui.tr_plain("calendar.col_removed_by"): day.removed_by or "",
                ui.tr_plain("calendar.col_remove_reason"): day.remove_reason or ""}
    rows.append(row)
st.dataframe(rows, hide_index=True, width="stretch")

if work_calendar.may_edit(viewer):
    st.subheader(ui.tr("calendar.add"))
    with st.form("calendar_add"):
        left, right = st.columns(2)
        typed_day = left.text_input(ui.tr("calendar.date"), placeholder="2027-03-09", key="calendar_day")
        kind = right.selectbox(ui.tr("calendar.kind"), options=list(CalendarEntryKind),
                               format_func=lambda k: ui.tr_plain(f"calendar.kind.{k.value}"),
                               key="calendar_kind")
        name = st.text_input(ui.tr("calendar.name"), max_chars=work_calendar.MAX_NAME_LENGTH,
                             key="calendar_name")
        decree = st.text_input(ui.tr("calendar.decree"), max_chars=work_calendar.MAX_DECREE_LENGTH,
                               key="calendar_decree")
        if st.form_submit_button(ui.tr("calendar.submit"), type="primary"):
            with ui.guarded():
                entry = procedure.add_calendar_entry(ctx, viewer, typed_day, name, decree, kind)
                ui.flash(ui.tr("calendar.added", day=entry.day.isoformat(), name=entry.name,
                               kind=ui.tr_plain(f"calendar.kind.{entry.kind.value}")))
                for key in ("calendar_day", "calendar_name", "calendar_decree"):
                    st.session_state.pop(key, None)
                st.rerun()

    entries = {d.day: d for d in days if d.kind is not None and d.in_effect}
    if entries:
        st.subheader(ui.tr("calendar.remove"))
        chosen = st.selectbox(
            ui.tr("calendar.choose_remove"), options=list(entries), key="calendar_remove_day",
            format_func=lambda d: f"{d.isoformat()} · {ui.tr_plain(f'calendar.kind.{entries[d].kind}')}"
                                  f" · {entries[d].name}",
        )
        reason = st.text_input(ui.tr("calendar.remove_reason"), max_chars=work_calendar.MAX_REASON_LENGTH,
                               key="calendar_remove_reason")
        if st.button(ui.tr("calendar.remove_button"), key="calendar_remove_button"):
            with ui.guarded():
                procedure.remove_calendar_entry(ctx, viewer, chosen, reason)
                ui.flash(ui.tr("calendar.removed", day=chosen.isoformat()))
                st.session_state.pop("calendar_remove_reason", None)
                st.rerun()
