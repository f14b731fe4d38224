"""One file per revision, named NNNN_slug.py with NNNN its revision id (`intake.schema` reads the newest from the
names). Alembic skips this file."""
