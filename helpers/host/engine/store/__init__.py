"""The SQLite file that holds every durable fact: instances, their inputs, histories, pending events, entities.

store.py        Store: the named reads and writes the engine uses (the only SQL of the host)
state_file.py   the file's schema, how it is recognised and refused, migrations of older schema versions
group_commit.py the one connection and its commits (group commit, lazy and deferred writes)
checkpointer.py WAL checkpoints on a thread of their own, at quiet moments
reads.py        read statements the Store shares with StateFileReader
reader.py       StateFileReader: a state file's committed contents, read on a connection of its own
"""

from .reader import StateFileReader
from .state_file import APPLICATION_ID, SCHEMA_VERSION
from .store import Store

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "StateFileReader", "Store"]
