"""initial schema

The tables of store/tables.py as they stood when migrations began, for SQLite and
PostgreSQL alike. `sqlite_autoincrement` gives `event.seq` SQLite's AUTOINCREMENT (a seq
is never reused, even after the newest row is gone); on PostgreSQL the integer key is a
SERIAL, whose sequence never hands a value out twice.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "dispatcher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "escalation_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("to", sa.String(), nullable=False),
        sa.Column("after_s", sa.Float(), nullable=False),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "grid",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name_zh", sa.String(), nullable=True),
        sa.Column("name_en", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=True),
        sa.Column("feature", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "partner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("grids", sa.JSON(), nullable=False),
        sa.Column("webhook_url", sa.String(), nullable=True),
        sa.Column("webhook_secret", sa.String(), nullable=True),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "roll_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_ids", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=False),
        sa.Column("deadline", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.Column("tally", sa.JSON(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_roll_call_started_at"), "roll_call", ["started_at"], unique=False)
    op.create_table(
        "token",
        sa.Column("token_hash", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        "member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("on_shift", sa.Boolean(), nullable=False),
        sa.Column("offline", sa.Boolean(), nullable=False),
        sa.Column("last_check_in", sa.Float(), nullable=True),
        sa.Column("check_in_state", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["grid.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_member_grid_id"), "member", ["grid_id"], unique=False)
    op.create_table(
        "check_in_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("period_s", sa.Float(), nullable=False),
        sa.Column("overdue_after_s", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["grid.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("grid_id"),
        sa.UniqueConstraint("member_id"),
    )
    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.String(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("category", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("disposition", sa.String(), nullable=True),
        sa.Column("opened_at", sa.Float(), nullable=False),
        sa.Column("acknowledged_at", sa.Float(), nullable=True),
        sa.Column("resolved_at", sa.Float(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["grid.id"],
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("alert_id"),
    )
    op.create_index(op.f("ix_incident_category"), "incident", ["category"], unique=False)
    op.create_index(op.f("ix_incident_grid_id"), "incident", ["grid_id"], unique=False)
    op.create_index(op.f("ix_incident_last_seq"), "incident", ["last_seq"], unique=False)
    op.create_index(op.f("ix_incident_opened_at"), "incident", ["opened_at"], unique=False)
    op.create_index(op.f("ix_incident_reporter_id"), "incident", ["reporter_id"], unique=False)
    op.create_index(op.f("ix_incident_status"), "incident", ["status"], unique=False)
    op.create_table(
        "roster_slot",
        sa.Column("grid_id", sa.String(), nullable=False),
        sa.Column("shift", sa.String(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"],
            ["grid.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("grid_id", "shift", "member_id"),
    )
    op.create_table(
        "assignment",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("reply", sa.String(), nullable=False),
        sa.Column("dispatched_at", sa.Float(), nullable=False),
        sa.Column("replied_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
        ),
        sa.PrimaryKeyConstraint("incident_id", "member_id"),
    )
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column("event_seq", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.Float(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_delivery_incident_id"), "delivery", ["incident_id"], unique=False)
    op.create_index(
        op.f("ix_delivery_next_attempt_at"), "delivery", ["next_attempt_at"], unique=False
    )
    op.create_index(op.f("ix_delivery_state"), "delivery", ["state"], unique=False)
    op.create_table(
        "event",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("roll_call_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.ForeignKeyConstraint(
            ["roll_call_id"],
            ["roll_call.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_incident_seq", "event", ["incident_id", "seq"], unique=False)
    op.create_index(op.f("ix_event_roll_call_id"), "event", ["roll_call_id"], unique=False)
    op.create_table(
        "incident_partner",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incident.id"],
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["partner.id"],
        ),
        sa.PrimaryKeyConstraint("incident_id", "partner_id"),
    )
    op.create_index(
        op.f("ix_incident_partner_partner_id"), "incident_partner", ["partner_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_incident_partner_partner_id"), table_name="incident_partner")
    op.drop_table("incident_partner")
    op.drop_index(op.f("ix_event_roll_call_id"), table_name="event")
    op.drop_index("ix_event_incident_seq", table_name="event")
    op.drop_table("event")
    op.drop_index(op.f("ix_delivery_state"), table_name="delivery")
    op.drop_index(op.f("ix_delivery_next_attempt_at"), table_name="delivery")
    op.drop_index(op.f("ix_delivery_incident_id"), table_name="delivery")
    op.drop_table("delivery")
    op.drop_table("assignment")
    op.drop_table("roster_slot")
    op.drop_index(op.f("ix_incident_status"), table_name="incident")
    op.drop_index(op.f("ix_incident_reporter_id"), table_name="incident")
    op.drop_index(op.f("ix_incident_opened_at"), table_name="incident")
    op.drop_index(op.f("ix_incident_last_seq"), table_name="incident")
    op.drop_index(op.f("ix_incident_grid_id"), table_name="incident")
    op.drop_index(op.f("ix_incident_category"), table_name="incident")
    op.drop_table("incident")
    op.drop_table("check_in_rule")
    op.drop_index(op.f("ix_member_grid_id"), table_name="member")
    op.drop_table("member")
    op.drop_table("token")
    op.drop_index(op.f("ix_roll_call_started_at"), table_name="roll_call")
    op.drop_table("roll_call")
    op.drop_table("partner")
    op.drop_table("grid")
    op.drop_table("escalation_rule")
    op.drop_table("dispatcher")
