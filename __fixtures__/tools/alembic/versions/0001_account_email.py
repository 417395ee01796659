"""accounts get an email, and a name index"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.add_column("accounts", sa.Column("email", sa.Text(), nullable=True))
    op.create_index("accounts_name_idx", "accounts", ["name"])


def downgrade():
    op.drop_index("accounts_name_idx", table_name="accounts")
    op.drop_column("accounts", "email")
