"""enrolment codes and devices

Handhelds enrolled with a one-time code (decision 35): `device` (one per enrolled
handheld), `enrolment` (codes, stored only as a hash), and `token.device_id` (the token
an enrolment made, so revoking a device revokes its token). On SQLite the new column of
`token` goes in by batch mode (the table is copied); on PostgreSQL it is an ALTER TABLE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TOKEN_DEVICE_FK = "fk_token_device_id_device"


def upgrade() -> None:
    op.create_table(
        "device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_device_member_id"), "device", ["member_id"], unique=False)
    op.create_table(
        "enrolment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["device.id"]),
        sa.ForeignKeyConstraint(["member_id"], ["member.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code_hash"),
    )
    op.create_index(op.f("ix_enrolment_member_id"), "enrolment", ["member_id"], unique=False)
    with op.batch_alter_table("token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_token_device_id"), ["device_id"], unique=False)
        batch_op.create_foreign_key(TOKEN_DEVICE_FK, "device", ["device_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("token", schema=None) as batch_op:
        batch_op.drop_constraint(TOKEN_DEVICE_FK, type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_token_device_id"))
        batch_op.drop_column("device_id")
    op.drop_index(op.f("ix_enrolment_member_id"), table_name="enrolment")
    op.drop_table("enrolment")
    op.drop_index(op.f("ix_device_member_id"), table_name="device")
    op.drop_table("device")
