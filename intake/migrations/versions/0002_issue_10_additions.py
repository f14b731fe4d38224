"""What issue 10 added to the models (commit 11be910), which `add_missing_columns` used to add at start-up.

Columns that are NOT NULL get a server default only long enough to fill the rows already there, then lose it,
so an upgraded database ends exactly like one created from the models (where the default is Python's).

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels = None
depends_on = None

# The name PostgreSQL gives this constraint when the models create the table: upgraded and new databases agree.
RELATED_CASE_FK = "submission_related_case_id_fkey"


def upgrade() -> None:
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.add_column(sa.Column("automatic", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("staffuser") as batch_op:
        # The model declares this server default itself (StaffUser.session_version): it stays.
        batch_op.add_column(sa.Column("session_version", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("submission") as batch_op:
        batch_op.add_column(sa.Column("authentication", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("authentication_evidence", sa.String(), nullable=True))
        batch_op.add_column(
            sa.Column("related_case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.add_column(sa.Column("sender_key", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("reply_capped", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index("ix_submission_sender_key", ["sender_key"])
        batch_op.create_foreign_key(RELATED_CASE_FK, "submission", ["related_case_id"], ["id"])
    # The rows are filled: now the defaults the models do not have go.
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.alter_column("automatic", server_default=None)
    with op.batch_alter_table("submission") as batch_op:
        batch_op.alter_column("reply_capped", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("submission") as batch_op:
        batch_op.drop_constraint(RELATED_CASE_FK, type_="foreignkey")
        batch_op.drop_index("ix_submission_sender_key")
        batch_op.drop_column("reply_capped")
        batch_op.drop_column("sender_key")
        batch_op.drop_column("related_case_id")
        batch_op.drop_column("authentication_evidence")
        batch_op.drop_column("authentication")
    with op.batch_alter_table("staffuser") as batch_op:
        batch_op.drop_column("session_version")
    with op.batch_alter_table("appointment") as batch_op:
        batch_op.drop_column("automatic")
