"""What an OpenAI-compatible server serves: its ``/v1/models`` list and the identity of one
model behind it.

``list_served_models(base_url, api_key)`` reads ``GET {base_url}/models``;
``server_identity(model)`` turns the entry of the configured ``server_model`` into a
``ServerIdentity`` (endpoint + the name the server reports + a weights fingerprint when
the entry carries one: a ``fingerprint``/``digest``/``sha256`` field, or the ``meta``
block llama.cpp's ``llama-server`` reports). A server can swap the weights behind one
name; only what it reports can be recorded. Every failure is a one-line ``UserError``
naming the endpoint; the API key is sent, never shown.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.generation.registry import ModelSpec, ServerIdentity

MODELS_TIMEOUT = 10.0
FINGERPRINT_KEYS = ("fingerprint", "system_fingerprint", "digest", "sha256", "hash")


@dataclass(frozen=True)
class ServedModel:
    """One entry of a server's ``/v1/models`` list."""

    id: str
    fingerprint: str | None
    owned_by: str | None = None


def auth_headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def describe_http_failure(base_url: str, exc: Exception) -> str:
    """One line for a transport failure (the key never appears: it is only in headers)."""
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return f"{base_url}: cannot connect ({_first_line(exc) or 'connection refused'})"
    if isinstance(exc, httpx.TimeoutException):
        return f"{base_url}: no answer within the timeout ({type(exc).__name__})"
    return f"{base_url}: {type(exc).__name__}: {_first_line(exc)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def fingerprint_of(entry: dict[str, Any]) -> str | None:
    """A weights fingerprint from a ``/v1/models`` entry, when the server reports one."""
    for key in FINGERPRINT_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    meta = entry.get("meta")
    if isinstance(meta, dict) and meta:
        payload = json.dumps(meta, sort_keys=True, default=str)
        return "meta-sha256:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
    return None


def list_served_models(
    base_url: str, api_key: str | None = None, timeout: float = MODELS_TIMEOUT
) -> list[ServedModel]:
    """``GET {base_url}/models``; a one-line ``UserError`` naming the endpoint otherwise."""
    import httpx

    url = f"{base_url.rstrip('/')}/models"
    try:
        response = httpx.get(url, headers=auth_headers(api_key), timeout=timeout)
    except httpx.HTTPError as exc:
        raise UserError(describe_http_failure(base_url, exc)) from None
    if response.status_code != 200:
        raise UserError(f"{url}: HTTP {response.status_code} {response.reason_phrase}".rstrip())
    try:
        body = response.json()
    except ValueError:
        raise UserError(f"{url}: the answer is not JSON") from None
    entries = body.get("data") if isinstance(body, dict) else None
    if not isinstance(entries, list):
        raise UserError(f"{url}: the answer has no 'data' list of models")
    served: list[ServedModel] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            owner = entry.get("owned_by")
            served.append(
                ServedModel(
                    entry["id"], fingerprint_of(entry), owner if isinstance(owner, str) else None
                )
            )
    return served


def server_identity(model: ModelSpec) -> ServerIdentity:
    """The contender identity of an ``openai`` model: endpoint, the model name the server
    reports, and its weights fingerprint (``None`` when the server reports none)."""
    endpoint = model.endpoint
    if endpoint is None:
        raise UserError(f"model {model.name}: not a server model")
    served = list_served_models(endpoint.base_url, endpoint.api_key(), endpoint.timeout)
    for entry in served:
        if entry.id == endpoint.server_model:
            return ServerIdentity(endpoint.base_url, entry.id, entry.fingerprint)
    names = ", ".join(e.id for e in served) or "none"
    raise UserError(
        f"model {model.name}: {endpoint.base_url} does not serve {endpoint.server_model!r} "
        f"(it serves: {names})"
    )
