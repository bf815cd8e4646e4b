"""Registering a contender in the database: its model row (keyed by the file's sha256, or
for a server model by what the server reports) and its contender row (keyed by the hash of
everything that shapes its answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gradebench.engine.generation.model_files import check_model_file, file_sha256
from gradebench.engine.generation.registry import Contender, ModelSpec, ServerIdentity

if TYPE_CHECKING:
    from gradebench.engine.store.sqlite import Database


@dataclass(frozen=True)
class RegisteredContender:
    """A contender as stored: its id and the exact prompt template text it uses."""

    id: str
    contender: Contender
    model_sha256: str
    prompt_template_text: str
    server: ServerIdentity | None = None
    """openai backend: what the server reported when the contender was registered."""


def probe_server_identity(model: ModelSpec) -> ServerIdentity:
    """Ask an ``openai`` model's server what it serves under the configured name
    (implemented by ``gradebench.engine.generation.openai_backend.server_identity``)."""
    from gradebench.engine.generation.openai_backend import server_identity

    return server_identity(model)


def register_contender(
    db: Database,
    contender: Contender,
    prompt_template_text: str,
    server: ServerIdentity | None = None,
) -> RegisteredContender:
    """Insert (or find) the model and contender rows; return the contender's id.

    Local models are keyed by their file's sha256; an ``openai`` model by the hash of
    its ``ServerIdentity`` (``server``, else probed from the server now).
    """
    from gradebench.engine.store.contenders import insert_model_and_contender
    from gradebench.engine.store.database import to_json, utc_now

    model = contender.model
    backend_identity: dict[str, Any] | None = None
    if model.path is None:
        if server is None:
            server = probe_server_identity(model)
        sha = server.sha256()
        backend_identity = server.to_dict()
        location = model.location
        template = {**model.chat_template(), **backend_identity}
    else:
        check_model_file(model)
        sha = file_sha256(model.path)
        if model.backend != "gpt4all":
            backend_identity = {"file_sha256": sha}
        location = str(model.path)
        template = model.chat_template()
    contender_id = contender.identity(sha, prompt_template_text, backend_identity)
    insert_model_and_contender(
        db,
        model_sha256=sha,
        model_name=model.name,
        location=location,
        size_bytes=model.size_bytes or 0,
        chat_template_json=to_json(template),
        contender_id=contender_id,
        contender_name=contender.name,
        prompt_style=contender.prompt_style,
        prompt_template=prompt_template_text,
        params_json=to_json(contender.params.to_dict()),
        now=utc_now(),
    )
    return RegisteredContender(contender_id, contender, sha, prompt_template_text, server)
