"""The schema's history as Alembic revisions: `versions/NNNN_*.py`, applied in number order by `intake.schema`.

Nothing here is imported at run time: Alembic loads `env.py` and the revisions by path, and only when the
schema has to change or be checked in depth (an empty database, one made before migrations, an upgrade).
"""
