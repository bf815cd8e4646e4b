"""The ``models`` and ``contenders`` tables: a model row per weights identity (the file's
sha256, or the hash of what a server reports) and a contender row per id (the hash of
everything that shapes its answers). Both are insert-or-ignore: an id names one content."""

from __future__ import annotations

from gradebench.engine.store.sqlite import Database


def insert_model_and_contender(
    db: Database,
    *,
    model_sha256: str,
    model_name: str,
    location: str,
    size_bytes: int,
    chat_template_json: str,
    contender_id: str,
    contender_name: str,
    prompt_style: str,
    prompt_template: str,
    params_json: str,
    now: str,
) -> None:
    """Insert the model row and the contender row unless they exist, in one transaction."""
    with db.conn:
        db.execute(
            "INSERT OR IGNORE INTO models (sha256, name, path, size_bytes, chat_template, "
            "first_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
            [model_sha256, model_name, location, size_bytes, chat_template_json, now],
        )
        db.execute(
            "INSERT OR IGNORE INTO contenders (id, name, model_sha256, prompt_style, "
            "prompt_template, params, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                contender_id,
                contender_name,
                model_sha256,
                prompt_style,
                prompt_template,
                params_json,
                now,
            ],
        )


def contender_names(db: Database) -> dict[str, str]:
    """Every registered contender's id -> name."""
    return dict(db.execute("SELECT id, name FROM contenders").fetchall())
