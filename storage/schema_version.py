"""The schema revision this code expects, known without loading Alembic.

Alembic, with Mako and Pygments behind it, adds about 8 MB to a server process once imported, and
reading the head from the migration scripts imports every one of them. A server whose database is
already at this revision (every start but the first after an upgrade) never needs either: it reads
Alembic's version table and compares. Each new migration sets `HEAD_REVISION` to its own id;
tests/storage/test_migrations.py fails while it differs from the scripts' head.
"""

HEAD_REVISION = "0012"
VERSION_TABLE = "alembic_version"
