"""Dashboards on display: the spec model, each dashboard's steps 6-8 (``lifecycle``, kept apart
from the spec the unit approved), authority filtering, aggregation, labels and charts, and what
the display keeps between page runs (``cache``: keyed by the viewer's cut, never by who asks).

Security rule of this package: nothing leaves the server unfiltered or unaggregated. Rows are cut
to the viewer's region, fields above the viewer's clearance are dropped (never hidden: a hidden
column still reaches the browser), and every panel is aggregated here to at most
``MAX_PANEL_ROWS`` rows before a chart is built from inline values.

May import: ocenter.accounts (levels, authority), ocenter.contracts, ocenter.reference,
ocenter.yamlfiles, errors and i18n; never the store, the procedure or the UI.
"""
