"""The look of a chart on the Operational Center's TV walls: a dark background, light large
type, quiet grid lines (read from across the room, in a dim control room)."""

from __future__ import annotations

import altair as alt

#: The wall's colours: background, text, secondary text, grid.
BACKGROUND, TEXT, MUTED, GRID = "#0b1220", "#f1f5f9", "#94a3b8", "#1e293b"
#: Type sizes on a 1920x1080 screen seen from a few metres.
LABEL_SIZE, TITLE_SIZE = 16, 18


def dark_chart(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """``chart`` restyled for the wall: its data and encodings untouched."""
    return (
        chart.properties(background=BACKGROUND)
        .configure_view(stroke=None)
        .configure_axis(labelColor=TEXT, titleColor=MUTED, gridColor=GRID, domainColor=MUTED,
                        tickColor=MUTED, labelFontSize=LABEL_SIZE, titleFontSize=TITLE_SIZE)
        .configure_legend(labelColor=TEXT, titleColor=MUTED, labelFontSize=LABEL_SIZE,
                          titleFontSize=TITLE_SIZE)
        .configure_title(color=TEXT, fontSize=TITLE_SIZE)
    )
