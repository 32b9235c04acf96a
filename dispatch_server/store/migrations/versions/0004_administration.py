"""administration: named administrators, deactivation, applied grid sets

`administrator` (named administrators, each with tokens of kind `admin`; decision 44),
`deactivated_at` on `member`, `dispatcher` and `partner`, `retired_at` on `grid` (a grid an
applied grid set dropped: incidents still name it) and `grid_set` (grid files applied from
the admin pages; the newest is the map; decision 45).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

DEACTIVATED = ("member", "dispatcher", "partner")


def upgrade() -> None:
    op.create_table(
        "administrator",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("deactivated_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "grid_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("geojson", sa.JSON(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("applied_at", sa.Float(), nullable=False),
        sa.Column("applied_by", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    for table in DEACTIVATED:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("deactivated_at", sa.Float(), nullable=True))
    with op.batch_alter_table("grid") as batch:
        batch.add_column(sa.Column("retired_at", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("grid") as batch:
        batch.drop_column("retired_at")
    for table in DEACTIVATED:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("deactivated_at")
    op.drop_table("grid_set")
    op.drop_table("administrator")
