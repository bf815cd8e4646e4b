"""gradebench's engine: everything that is not the terminal UI (never imports textual).

Layers, each a folder that imports only the ones below it (import-linter contracts in
pyproject.toml enforce it): workflows > reporting > grading > answers > evaluation >
generation > problems > store, with the shared modules ``config``, ``collector`` and
``errors`` at the bottom. Importing a package does no work: each ``__init__`` only says
what its layer owns.
"""
