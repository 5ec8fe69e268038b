"""The schema as revision 0001 (the baseline) made it, frozen: every table, index and constraint of
the models when the database came under migrations, written out here so that later changes to
``ocenter/models.py`` never change what the baseline creates. Revision 0001 creates it; a
database made before migrations is brought to it by ``ocenter.migrations.legacy``.

Imports SQLAlchemy only (not the models: they move on, this does not).
"""

from __future__ import annotations

import sqlalchemy as sa

#: The baseline's tables, written so that ``create_all`` emits the very statements it emitted for
#: the models (foreign keys on their columns, constraints in the models' order). Enum columns store
#: the member's name (SQLAlchemy's default for an ``enum.Enum``); on PostgreSQL each enum is a type
#: of its own, named as below.
METADATA = sa.MetaData()

FAILUREKIND = sa.Enum("ALTERED", "UNREADABLE", name="failurekind")
UNITKIND = sa.Enum("PUSAT", "PUSDATIN", "UPT", "KL", name="unitkind")
CALENDARENTRYKIND = sa.Enum("CUTI_BERSAMA", "EXTRA_HOLIDAY", "WORKING_DAY", name="calendarentrykind")
ROLE = sa.Enum(
    "KEPALA", "DEPUTI", "DIREKTUR", "KABALAI", "TAMU", "ANALIS", "VERIFIKATOR", "UNIT", "UPT", "MITRA",
    "ADMIN", "LAYAR", name="role"
)
LEVEL = sa.Enum("TERBUKA", "TERBATAS", "RAHASIA", "SANGAT_RAHASIA", name="level")
SCOPEKIND = sa.Enum("BPOM", "UNIT", "UPT", "GRANT", name="scopekind")
CONTRACTCHANGESTATUS = sa.Enum("PROPOSED", "MERGED", name="contractchangestatus")
REQUESTSTATUS = sa.Enum(
    "REQUESTED", "MOCKUP", "IN_REVIEW", "CHANGES_REQUESTED", "APPROVED", "BUILT", "CLASSIFIED",
    "DISPLAYED", "EVALUATED", "RECEIVED", name="requeststatus"
)
NOTIFICATIONKIND = sa.Enum("REMINDER", "ESCALATION", name="notificationkind")
CLOCKWAIT = sa.Enum("SENDER", "UNIT", name="clockwait")
SUBMISSIONSTATUS = sa.Enum("SENT", "RECEIVED", "VERIFIED", "RETURNED", name="submissionstatus")
PARTITIONACTION = sa.Enum("ACCEPTED", "DECLARED_EMPTY", "RESTORED", name="partitionaction")

sa.Table(
    "dashboardview", METADATA,
    sa.Column("dashboard_id", sa.String(), nullable=False),
    sa.Column("username", sa.String(), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("tier", sa.String(), nullable=False),
    sa.Column("views", sa.Integer(), nullable=False),
    sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("dashboard_id", "username", "day"),
    sa.Index("ix_dashboardview_day", "day"),
)
sa.Table(
    "event", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor", sa.String(), nullable=False),
    sa.Column("step", sa.Integer(), nullable=True),
    sa.Column("action", sa.String(), nullable=False),
    sa.Column("request_id", sa.Integer(), nullable=True),
    sa.Column("submission_id", sa.Integer(), nullable=True),
    sa.Column("outcome", sa.String(), nullable=False),
    sa.Column("detail", sa.Text(), nullable=True),
    sa.Column("chain_seq", sa.Integer(), nullable=True),
    sa.Column("prev_hash", sa.String(), nullable=True),
    sa.Column("entry_hash", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_event_at", "at"),
    sa.Index("ix_event_request_id", "request_id"),
)
sa.Table(
    "eventloghead", METADATA,
    # One row, always id 1 (the model's default): no sequence.
    sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
    sa.Column("chain_seq", sa.Integer(), nullable=False),
    sa.Column("entry_hash", sa.String(), nullable=True),
    sa.Column("event_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
)
sa.Table(
    "integrateddataset", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("dataset_id", sa.String(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("partitions", sa.Integer(), nullable=False),
    sa.Column("built_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("newest_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("file_sha256", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_integrateddataset_dataset_id", "dataset_id"),
)
sa.Table(
    "lettersequence", METADATA,
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("last", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("year"),
)
sa.Table(
    "loginthrottle", METADATA,
    sa.Column("key", sa.String(), nullable=False),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=True),
    sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("key"),
)
sa.Table(
    "tilefailure", METADATA,
    sa.Column("dashboard_id", sa.String(), nullable=False),
    sa.Column("panel_id", sa.String(), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("kind", FAILUREKIND, nullable=False),
    sa.Column("dataset_id", sa.String(), nullable=False),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("dashboard_id", "panel_id", "day", "kind"),
    sa.Index("ix_tilefailure_day", "day"),
)
sa.Table(
    "unit", METADATA,
    sa.Column("code", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", UNITKIND, nullable=False),
    sa.Column("province_code", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("code"),
)
sa.Table(
    "workcalendarentry", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("kind", CALENDARENTRYKIND, nullable=False),
    sa.Column("decree", sa.Text(), nullable=True),
    sa.Column("entered_by", sa.String(), nullable=False),
    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("removed_by", sa.String(), nullable=True),
    sa.Column("remove_reason", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_workcalendarentry_day", "day"),
)
sa.Table(
    "workcalendarrevision", METADATA,
    # One row, always id 1 (the model's default): no sequence.
    sa.Column("id", sa.Integer(), nullable=False, autoincrement=False),
    sa.Column("token", sa.String(), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
)
sa.Table(
    "user", METADATA,
    sa.Column("username", sa.String(), nullable=False),
    sa.Column("name", sa.String(), nullable=False),
    sa.Column("email", sa.String(), nullable=False),
    sa.Column("password_hash", sa.String(), nullable=False),
    sa.Column("role", ROLE, nullable=False),
    sa.Column("unit_code", sa.String(), sa.ForeignKey("unit.code"), nullable=True),
    sa.Column("clearance", LEVEL, nullable=False),
    sa.Column("scope", SCOPEKIND, nullable=False),
    sa.Column("active", sa.Boolean(), nullable=False),
    sa.Column("is_demo", sa.Boolean(), nullable=False),
    sa.Column("language", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("username"),
)
sa.Table(
    "contractchange", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("dataset_id", sa.String(), nullable=False),
    sa.Column("owner_unit", sa.String(), nullable=False),
    sa.Column("proposed_by", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("base_commit", sa.String(), nullable=False),
    sa.Column("head_commit", sa.String(), nullable=False),
    sa.Column("lowers_level", sa.Boolean(), nullable=False),
    sa.Column("summary", sa.Text(), nullable=True),
    sa.Column("owner_approved_by", sa.String(), nullable=True),
    sa.Column("owner_approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("pusdatin_approved_by", sa.String(), nullable=True),
    sa.Column("pusdatin_approved_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("status", CONTRACTCHANGESTATUS, nullable=False),
    sa.Column("merge_commit", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_contractchange_dataset_id", "dataset_id"),
)
sa.Table(
    "dashboardgrant", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("username", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("dashboard_id", sa.String(), nullable=False),
    sa.Column("reason", sa.Text(), nullable=True),
    sa.Column("granted_by", sa.String(), nullable=False),
    sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_on", sa.Date(), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("revoked_by", sa.String(), nullable=True),
    sa.Column("revoke_reason", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_dashboardgrant_username", "username"),
)
sa.Table(
    "dashboardrequest", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("title", sa.String(), nullable=False),
    sa.Column("purpose", sa.Text(), nullable=True),
    sa.Column("requesting_unit", sa.String(), sa.ForeignKey("unit.code"), nullable=False),
    sa.Column("requested_by", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("datasets", sa.JSON(), nullable=True),
    sa.Column("level", LEVEL, nullable=False),
    sa.Column("audience", sa.JSON(), nullable=True),
    sa.Column("dashboard_id", sa.String(), nullable=False),
    sa.Column("status", REQUESTSTATUS, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("step_started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("review_rounds", sa.Integer(), nullable=False),
    sa.Column("no_new_data_reason", sa.Text(), nullable=True),
    sa.Column("no_new_data_by", sa.String(), nullable=True),
    sa.Column("no_new_data_at", sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_dashboardrequest_requesting_unit", "requesting_unit"),
    sa.Index("ix_dashboardrequest_status", "status"),
)
sa.Table(
    "loginsession", METADATA,
    sa.Column("id_sha256", sa.String(), nullable=False),
    sa.Column("username", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("client", sa.String(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("end_reason", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id_sha256"),
    sa.Index("ix_loginsession_username", "username"),
)
sa.Table(
    "wallslot", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("screen", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("position", sa.Integer(), nullable=False),
    sa.Column("dashboard_id", sa.String(), nullable=False),
    sa.Column("seconds", sa.Integer(), nullable=False),
    sa.Column("set_by", sa.String(), nullable=False),
    sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_wallslot_screen", "screen"),
)
sa.Table(
    "evaluation", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("request_id", sa.Integer(), sa.ForeignKey("dashboardrequest.id"), nullable=False),
    sa.Column("notes", sa.Text(), nullable=True),
    sa.Column("letter_number", sa.String(), nullable=False),
    sa.Column("letter_text", sa.Text(), nullable=True),
    sa.Column("evaluated_by", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("acknowledged_by", sa.String(), nullable=True),
    sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("acknowledgement_note", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_evaluation_request_id", "request_id"),
)
sa.Table(
    "maindecision", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("commit", sa.String(), nullable=False, unique=True),
    sa.Column("request_id", sa.Integer(), sa.ForeignKey("dashboardrequest.id"), nullable=False),
    sa.Column("step", sa.Integer(), nullable=False),
    sa.Column("decided_by", sa.String(), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reviewed_commit", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_maindecision_request_id", "request_id"),
)
sa.Table(
    "notification", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("recipient", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("kind", NOTIFICATIONKIND, nullable=False),
    sa.Column("request_id", sa.Integer(), sa.ForeignKey("dashboardrequest.id"), nullable=False),
    sa.Column("step", sa.Integer(), nullable=False),
    sa.Column("due_day", sa.Date(), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("email_attempts", sa.Integer(), nullable=False),
    sa.Column("email_error", sa.String(), nullable=True),
    sa.UniqueConstraint("recipient", "kind", "request_id", "step", "due_day", name="uq_notification_once"),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_notification_recipient", "recipient"),
    sa.Index("ix_notification_request_id", "request_id"),
)
sa.Table(
    "reviewcomment", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("request_id", sa.Integer(), sa.ForeignKey("dashboardrequest.id"), nullable=False),
    sa.Column("author", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("commit", sa.String(), nullable=False),
    sa.Column("text", sa.Text(), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_reviewcomment_request_id", "request_id"),
)
sa.Table(
    "stepinterval", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("request_id", sa.Integer(), sa.ForeignKey("dashboardrequest.id"), nullable=False),
    sa.Column("step", sa.Integer(), nullable=False),
    sa.Column("waiting_on", CLOCKWAIT, nullable=True),
    sa.Column("restarts", sa.Boolean(), nullable=False),
    sa.Column("carried_hk", sa.Integer(), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("started_by", sa.String(), nullable=False),
    sa.Column("start_event", sa.String(), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("ended_by", sa.String(), nullable=True),
    sa.Column("end_event", sa.String(), nullable=True),
    sa.Column("used_hk", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    # One open clock per request: a second process opening one at the same moment fails.
    sa.Index("ix_stepinterval_one_open", "request_id", unique=True,
             sqlite_where=sa.text("ended_at IS NULL"), postgresql_where=sa.text("ended_at IS NULL")),
    sa.Index("ix_stepinterval_request_id", "request_id"),
)
sa.Table(
    "submission", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("dataset_id", sa.String(), nullable=False),
    sa.Column("request_id", sa.Integer(), sa.ForeignKey("dashboardrequest.id"), nullable=True),
    sa.Column("unit_code", sa.String(), sa.ForeignKey("unit.code"), nullable=False),
    sa.Column("submitted_by", sa.String(), sa.ForeignKey("user.username"), nullable=False),
    sa.Column("level", LEVEL, nullable=False),
    sa.Column("original_name", sa.String(), nullable=False),
    sa.Column("upload_sha256", sa.String(), nullable=False),
    sa.Column("upload_suffix", sa.String(), nullable=False),
    sa.Column("size_bytes", sa.Integer(), nullable=False),
    sa.Column("rows", sa.Integer(), nullable=True),
    sa.Column("status", SUBMISSIONSTATUS, nullable=False),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("received_by", sa.String(), nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("verified_by", sa.String(), nullable=True),
    sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("checks_passed", sa.Boolean(), nullable=True),
    sa.Column("report_json", sa.Text(), nullable=True),
    sa.Column("decision_note", sa.Text(), nullable=True),
    sa.Column("resubmits_id", sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_submission_resubmits_id", "resubmits_id"),
    sa.Index("ix_submission_status", "status"),
    sa.Index("ix_submission_unit_code", "unit_code"),
    sa.Index("ix_submission_upload_sha256", "upload_sha256"),
)
sa.Table(
    "datasetversion", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("dataset_id", sa.String(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=False),
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), nullable=False),
    sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("file_sha256", sa.String(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_datasetversion_dataset_id", "dataset_id"),
)
sa.Table(
    "emptydeclaration", METADATA,
    sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), nullable=False),
    sa.Column("period", sa.String(), nullable=False),
    sa.PrimaryKeyConstraint("submission_id"),
)
sa.Table(
    "letter", METADATA,
    sa.Column("evaluation_id", sa.Integer(), sa.ForeignKey("evaluation.id"), nullable=False),
    sa.Column("year", sa.Integer(), nullable=False),
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("letter_date", sa.Date(), nullable=False),
    sa.Column("signatory_name", sa.String(), nullable=False),
    sa.Column("signatory_nip", sa.String(), nullable=False),
    sa.Column("signatory_title", sa.String(), nullable=False),
    sa.Column("pdf", sa.LargeBinary(), nullable=False),
    sa.Column("pdf_sha256", sa.String(), nullable=False),
    sa.UniqueConstraint("year", "sequence", name="uq_letter_year_sequence"),
    sa.PrimaryKeyConstraint("evaluation_id"),
)
sa.Table(
    "partitionversion", METADATA,
    sa.Column("id", sa.Integer(), nullable=False),
    sa.Column("dataset_id", sa.String(), nullable=False),
    sa.Column("sender", sa.String(), nullable=False),
    sa.Column("period", sa.String(), nullable=False),
    sa.Column("sha256", sa.String(), nullable=True),
    sa.Column("rows", sa.Integer(), nullable=False),
    sa.Column("action", PARTITIONACTION, nullable=False),
    sa.Column("submission_id", sa.Integer(), sa.ForeignKey("submission.id"), nullable=True),
    sa.Column("decided_by", sa.String(), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("note", sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint("id"),
    sa.Index("ix_partitionversion_dataset_id", "dataset_id"),
)
