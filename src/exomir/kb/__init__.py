"""The knowledge base: curated studies, miRNAs, interactions, trials and gene sets.

``open_kb()`` returns a :class:`~exomir.kb.store.KnowledgeBase` on the embedded SQLite file
(platformdirs user data directory), ``EXOMIR_DB`` or an explicit path/SQLAlchemy URL; the
database is created, migrated and seeded with the curated starter dataset on first use.
``embedded()`` is the shipped dataset alone (in memory, read-only), whatever the user imported.
"""

from exomir.kb.store import KnowledgeBase, default_db_url, embedded, open_kb

__all__ = ["KnowledgeBase", "default_db_url", "embedded", "open_kb"]
