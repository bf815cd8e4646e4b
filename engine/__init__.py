"""gradebench's engine: everything that is not the terminal UI (never imports textual)."""
