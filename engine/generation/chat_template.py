"""Rendering a chat with a GGUF's jinja chat template, for the llama.cpp backend.

The template is ``tokenizer.chat_template`` from the file (or the model's
``chat_template`` override), rendered by llama-cpp-python's ``Jinja2ChatFormatter`` (the
renderer its own chat completions use) with the file's BOS/EOS token texts and the
generation prompt added. When the model's vocabulary adds a BOS token and the template
did not write one, the BOS text is put in front: the rendered text is then exactly what
the backend tokenizes (special tokens parsed) and feeds to the model, and exactly what is
stored in ``generations.prompt_text``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from gradebench.engine.errors import UserError
from gradebench.engine.generation.gguf_info import read_gguf_info

if TYPE_CHECKING:
    from gradebench.engine.generation.chat import ChatMessage
    from gradebench.engine.generation.registry import ModelSpec

INSTALL_HINT = "pip install 'gradebench[llamacpp]'"


@functools.lru_cache(maxsize=32)
def _formatter(template: str, bos: str, eos: str) -> Any:
    try:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter
    except ImportError:
        raise UserError(f"the llamacpp backend needs llama-cpp-python ({INSTALL_HINT})") from None
    return Jinja2ChatFormatter(
        template=template, eos_token=eos, bos_token=bos, add_generation_prompt=True
    )


def chat_template_of(model: ModelSpec) -> str:
    """The jinja template a llamacpp model uses: the override, else the GGUF's."""
    if model.chat_template_override:
        return model.chat_template_override
    assert model.path is not None
    template = read_gguf_info(model.path).chat_template
    if template is None:
        raise UserError(
            f"model {model.name}: {model.path} has no tokenizer.chat_template; "
            f"set models.{model.name}.chat_template in gradebench.toml"
        )
    return template


def render_gguf_chat(model: ModelSpec, messages: tuple[ChatMessage, ...]) -> str:
    """The exact text a llamacpp model is fed for ``messages``."""
    assert model.path is not None
    info = read_gguf_info(model.path)
    template = chat_template_of(model)
    bos, eos = info.bos_token or "", info.eos_token or ""
    formatter = _formatter(template, bos, eos)
    try:
        prompt = formatter(messages=[m.to_dict() for m in messages]).prompt
    except Exception as exc:  # jinja2 errors, raise_exception() in the template
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"model {model.name}: chat template failed: {reason}") from None
    if info.add_bos and bos and not prompt.startswith(bos):
        prompt = bos + prompt
    return prompt
