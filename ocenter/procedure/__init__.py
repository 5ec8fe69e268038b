"""The ten steps of SOP POM-09.01/CFM.02/SOP.06 as use cases; pages and the command line call these.

Every use case takes the acting user's ``Authority`` (re-read from the database on each page run),
refuses what that role may not do, changes the database and/or the spec store, and appends one
event to the log. Errors a user can cause are ``UserError``s carrying catalogue keys.

One module per stage of the procedure: ``requests`` (the request form), ``data_intake`` (steps 1-3)
with ``data_integration`` (each sender's part of a dataset), ``mockup_review`` (4-5),
``dashboard_build`` (6-8), ``evaluation`` (9-10), and ``contract_changes`` (a data contract changed
only with its owner unit's and Pusdatin's approval); ``common`` what they share, ``workdays`` the
time standards in HK, ``step_clocks`` each step's clock kept as intervals (started, paused and
restarted by the events the SOP implies), ``work_calendar`` the calendar they are counted on (the
holidays package, and the cuti bersama and corrections the administrator enters), ``overview`` the
picture on Beranda, ``worklists`` the long lists of every page (filtered and paged by the
database), ``wall`` what each wall screen of the Operational Center shows after step 8 (its
playlist, kept by Pusdatin); ``decisions`` (one decision wins) and ``main_record`` (approvals and
steps 6-8 are decided on main, and the database repaired from main's trailers) make every step
all-or-nothing. Pages use the names re-exported here.

May import: accounts, contracts, intake, verification, store, display (the spec model, the
lifecycle record and labels), models, events, context, clock, errors, i18n, reference (and the
holidays package, in ``workdays``); never Streamlit or the UI. The time and the day come from
``ctx.clock``, never from the machine, so that a run can be repeated on a chosen day.
"""

from ocenter.procedure.common import (
    PUSDATIN_ROLES,
    REQUESTER_ROLES,
    SENDER_ROLES,
    STATUS_STEP,
    UPLOAD_SUFFIXES,
    author_of,
    contract_of,
    request_clock,
    request_clocks,
)
from ocenter.procedure.contract_changes import (
    ContractChangeReview,
    approve_contract_change,
    list_contract_changes,
    parse_contract,
    propose_contract_change,
    review_contract_change,
)
from ocenter.procedure.dashboard_build import (
    build_dashboard,
    check_defaults,
    classification_tiers,
    classify_defaults,
    default_form,
    default_from_form,
    filter_choices,
    preview_viewer,
    put_on_display,
)
from ocenter.procedure.data_intake import (
    check_submission,
    decide_submission,
    failing_rows_file,
    fixes_of,
    latest_versions,
    list_submissions,
    receive_submission,
    report_for,
    stored_report,
    submission_clock,
    submit_data,
    upload_path,
)
from ocenter.procedure.data_integration import (
    completeness_grid,
    completeness_of,
    data_status,
    partition_history,
    report_altered_file,
    restore_partition,
    seal_stored_files,
)
from ocenter.procedure.evaluation import (
    acknowledge_letter,
    evaluate_dashboard,
    evaluations_of,
    events,
    readable_events,
)
from ocenter.procedure.main_record import reconcile_main
from ocenter.procedure.mockup_review import (
    ReviewAccess,
    approve_mockup,
    ask_mockup_adjustment,
    dashboard_history,
    mockup_merge_preview,
    mockup_problems,
    mockup_review_diff,
    mockup_scope,
    parse_spec,
    preview_contracts,
    request_changes,
    restore_mockup_version,
    review_access,
    review_comments,
    review_problems,
    save_mockup,
    send_mockup,
    spec_history,
    start_mockup,
    starter_spec,
    take_over_pushed_commits,
    unattributed_commits,
    update_mockup_from_main,
)
from ocenter.procedure.requests import (
    file_request,
    get_request,
    list_requests,
    state_no_new_data,
)
from ocenter.procedure.step_clocks import intervals_of, open_missing_clocks
from ocenter.procedure.work_calendar import (
    CalendarDay,
    add_calendar_entry,
    calendar_of,
    calendar_year,
    remove_calendar_entry,
    seed_work_calendar,
    years_without_cuti_bersama,
)

__all__ = [
    "ask_mockup_adjustment",
    "fixes_of",
    "intervals_of",
    "open_missing_clocks",
    "request_clocks",
    "state_no_new_data",
    "CalendarDay",
    "add_calendar_entry",
    "calendar_of",
    "calendar_year",
    "remove_calendar_entry",
    "seed_work_calendar",
    "years_without_cuti_bersama",
    "ContractChangeReview",
    "ReviewAccess",
    "approve_contract_change",
    "list_contract_changes",
    "parse_contract",
    "propose_contract_change",
    "review_contract_change",
    "completeness_grid",
    "completeness_of",
    "data_status",
    "partition_history",
    "report_altered_file",
    "restore_partition",
    "seal_stored_files",
    "PUSDATIN_ROLES",
    "REQUESTER_ROLES",
    "SENDER_ROLES",
    "STATUS_STEP",
    "UPLOAD_SUFFIXES",
    "acknowledge_letter",
    "approve_mockup",
    "author_of",
    "build_dashboard",
    "check_defaults",
    "check_submission",
    "classification_tiers",
    "classify_defaults",
    "default_form",
    "default_from_form",
    "filter_choices",
    "contract_of",
    "dashboard_history",
    "decide_submission",
    "evaluate_dashboard",
    "evaluations_of",
    "events",
    "readable_events",
    "readable_events",
    "failing_rows_file",
    "file_request",
    "get_request",
    "latest_versions",
    "list_requests",
    "list_submissions",
    "mockup_merge_preview",
    "mockup_problems",
    "mockup_review_diff",
    "mockup_scope",
    "parse_spec",
    "preview_contracts",
    "preview_viewer",
    "put_on_display",
    "reconcile_main",
    "receive_submission",
    "request_changes",
    "request_clock",
    "restore_mockup_version",
    "review_access",
    "review_comments",
    "review_problems",
    "save_mockup",
    "send_mockup",
    "spec_history",
    "take_over_pushed_commits",
    "unattributed_commits",
    "start_mockup",
    "starter_spec",
    "report_for",
    "stored_report",
    "submission_clock",
    "submit_data",
    "update_mockup_from_main",
    "upload_path",
]
