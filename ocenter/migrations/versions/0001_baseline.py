"""Baseline: the schema when the database came under migrations.

The tables, indexes and constraints of ``ocenter.migrations.baseline`` (what ``create_all`` made
of the models then) and the event log's append-only triggers.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from ocenter.database import create_event_log_triggers
from ocenter.migrations.baseline import METADATA

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    METADATA.create_all(bind)
    create_event_log_triggers(bind)


def downgrade() -> None:
    bind = op.get_bind()
    METADATA.drop_all(bind)  # the triggers go with the event table
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS ocenter_event_log_is_append_only()")
