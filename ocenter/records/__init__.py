"""The records the SOP asks to keep "as evidence of the activity and for reference": the archive
of one dashboard request (``request_record``), written as a ZIP that is the same bytes for the
same record (``archive``). Pages and the command line use the names re-exported here.

May import: accounts, audit, events, models, context, errors, i18n, store, procedure; never
Streamlit or the UI.
"""

from ocenter.records.request_record import (
    RECORD_FORMAT,
    export_request_record,
    exportable_request,
    may_export,
    read_manifest,
    request_history,
    write_request_record,
)

__all__ = [
    "RECORD_FORMAT",
    "export_request_record",
    "exportable_request",
    "may_export",
    "read_manifest",
    "request_history",
    "write_request_record",
]
