"""The chat a contender sends, and the exact text each backend makes of it.

A request carries the chat as ``ChatMessage`` values (an optional system message, then
the user message) and, beside it, the exact ``prompt_text`` stored in
``generations.prompt_text``:

- ``gpt4all``: the model's ``system_prompt`` + ``prompt_template`` with ``%1`` replaced
  (gpt4all 2.8's form, unchanged since the first release);
- ``llamacpp``: the chat template stored in the GGUF (``tokenizer.chat_template``, or the
  config's ``chat_template`` override) rendered with jinja2, BOS included when the model
  adds one, so the stored text is exactly what the model is fed;
- ``openai``: the messages as JSON, as they are posted to the server.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from gradebench.engine.generation.chat_message import ChatMessage

if TYPE_CHECKING:
    from gradebench.engine.generation.registry import ModelSpec


def messages_json(messages: tuple[ChatMessage, ...]) -> str:
    """The messages as the JSON array an OpenAI-compatible server receives."""
    return json.dumps([m.to_dict() for m in messages], ensure_ascii=False)


def render_prompt(model: ModelSpec, messages: tuple[ChatMessage, ...]) -> str:
    """The exact text stored as the answer's prompt for ``model``'s backend."""
    if model.backend == "llamacpp":
        from gradebench.engine.generation.chat_template import render_gguf_chat

        return render_gguf_chat(model, messages)
    if model.backend == "openai":
        return messages_json(messages)
    user = next((m.content for m in reversed(messages) if m.role == "user"), "")
    return model.render(user)
