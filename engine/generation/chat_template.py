"""Rendering a chat with a GGUF's jinja chat template, for the llama.cpp backend.

The template is ``tokenizer.chat_template`` from the file (or the model's
``chat_template`` override), rendered with jinja2 the way Hugging Face chat templates
are meant to be (sandboxed environment, ``trim_blocks`` and ``lstrip_blocks``,
``raise_exception`` and ``strftime_now`` available; the same settings as
llama-cpp-python's ``Jinja2ChatFormatter``) with the file's BOS/EOS token texts and the
generation prompt added. When the model's vocabulary adds a BOS token and the template
did not write one, the BOS text is put in front: the rendered text is then exactly what
the backend tokenizes (special tokens parsed) and feeds to the model, and exactly what is
stored in ``generations.prompt_text``.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn

from gradebench.engine.errors import UserError
from gradebench.engine.generation.gguf_info import read_gguf_info

if TYPE_CHECKING:
    from gradebench.engine.generation.chat_message import ChatMessage
    from gradebench.engine.generation.registry import ModelSpec


def _raise(message: str) -> NoReturn:
    raise ValueError(message)


def _strftime_now(fmt: str) -> str:
    return datetime.now().strftime(fmt)


@functools.lru_cache(maxsize=32)
def _compiled(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(template)


def render_template(template: str, messages: list[dict[str, str]], bos: str, eos: str) -> str:
    """One render of a jinja chat template with the generation prompt added."""
    return _compiled(template).render(
        messages=messages,
        bos_token=bos,
        eos_token=eos,
        add_generation_prompt=True,
        raise_exception=_raise,
        strftime_now=_strftime_now,
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
    try:
        prompt = render_template(template, [m.to_dict() for m in messages], bos, eos)
    except Exception as exc:  # jinja2 errors, raise_exception() in the template
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"model {model.name}: chat template failed: {reason}") from None
    if info.add_bos and bos and not prompt.startswith(bos):
        prompt = bos + prompt
    return prompt
