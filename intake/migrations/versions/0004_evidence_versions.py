"""Versions of stored evidence (issue 13 §2, `intake archive refresh`): a receipt with a new document time-stamp is
stored as a new version beside the old one, never over it; each receipt keeps until when its newest version can be
verified, so the daily run opens only the receipts that are due.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("receipt") as batch_op:
        batch_op.add_column(sa.Column("evidence_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_receipt_evidence_expires_at", ["evidence_expires_at"])
    op.create_table(
        "evidenceversion",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("office", sa.String(), nullable=False),
        sa.Column("receipt_id", ROW_ID, nullable=False),
        sa.Column("submission_id", ROW_ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("previous_sha256", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"]),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_id", "version", name="uq_evidence_version"),
    )
    op.create_index("ix_evidenceversion_office", "evidenceversion", ["office"])
    op.create_index("ix_evidenceversion_receipt_id", "evidenceversion", ["receipt_id"])


def downgrade() -> None:
    op.drop_index("ix_evidenceversion_receipt_id", table_name="evidenceversion")
    op.drop_index("ix_evidenceversion_office", table_name="evidenceversion")
    op.drop_table("evidenceversion")
    with op.batch_alter_table("receipt") as batch_op:
        batch_op.drop_index("ix_receipt_evidence_expires_at")
        batch_op.drop_column("evidence_expires_at")
