"""GDPR retention (issue 13 §5): legal holds per case, the record of what `intake purge` erased, and the
indexes it looks blobs up by.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "legalhold",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("office", sa.String(), nullable=False),
        sa.Column("submission_id", ROW_ID, nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id"),
    )
    op.create_index("ix_legalhold_office", "legalhold", ["office"])
    op.create_table(
        "purgerecord",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("office", sa.String(), nullable=False),
        sa.Column("submission_id", ROW_ID, nullable=False),
        sa.Column("what", sa.String(), nullable=False),
        sa.Column("purged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["submission_id"], ["submission.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("submission_id", "what", name="uq_purge_what"),
    )
    op.create_index("ix_purgerecord_office", "purgerecord", ["office"])
    op.create_index("ix_purgerecord_submission_id", "purgerecord", ["submission_id"])
    # `intake purge` asks, for every file it may delete, whether another message still points at it.
    op.create_index("ix_document_sha256", "document", ["sha256"])
    op.create_index("ix_receipt_pdf_sha256", "receipt", ["pdf_sha256"])


def downgrade() -> None:
    op.drop_index("ix_receipt_pdf_sha256", table_name="receipt")
    op.drop_index("ix_document_sha256", table_name="document")
    op.drop_index("ix_purgerecord_submission_id", table_name="purgerecord")
    op.drop_index("ix_purgerecord_office", table_name="purgerecord")
    op.drop_table("purgerecord")
    op.drop_index("ix_legalhold_office", table_name="legalhold")
    op.drop_table("legalhold")
