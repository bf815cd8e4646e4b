"""Storage: opening grades.db (WAL, busy timeout, folder lock), numbered migrations, and the
reads and writes of its tables as plain-value functions. Imports nothing else of gradebench
except ``gradebench.engine.errors``."""
