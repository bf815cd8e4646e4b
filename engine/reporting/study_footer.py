"""The reproducibility footer under every table of a study report: what produced the
answers, read back from the database, never from the machine the report runs on.

gradebench version (of the runs that made the answers), each model's sha256 with its
quantization, backend and backend version (recorded by ``gradebench study run``), the
prompt templates' hashes, each suite's data hash (sha256 over the chosen problems' ids
and content hashes: the same problems with the same tests give the same hash), the seed,
the sandbox limits of the problems' test runs and the CPU model and core count of the
hosts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gradebench.engine.store.studies import (
    answer_run_hosts,
    contender_facts,
    problem_contents,
    sandbox_settings,
)

NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class Footer:
    facts: tuple[tuple[str, str], ...]
    """(label, value) in the order they are printed."""

    def value(self, label: str) -> str:
        return next(value for key, value in self.facts if key == label)


def data_hash(contents: Sequence[tuple[str, str]]) -> str:
    """sha256 over ``id content_sha256`` lines, sorted by id."""
    text = "\n".join(f"{pid} {sha}" for pid, sha in sorted(contents))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _json(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _limits(sandbox: dict[str, Any]) -> str:
    memory = sandbox.get("RLIMIT_AS")
    parts = []
    if isinstance(memory, int):
        parts.append(f"memory {memory / 2**30:g} GiB")
    for key, label in (("RLIMIT_NPROC", "processes"), ("RLIMIT_NOFILE", "open files")):
        if sandbox.get(key) is not None:
            parts.append(f"{sandbox[key]} {label}")
    if isinstance(sandbox.get("RLIMIT_FSIZE"), int):
        parts.append(f"files {sandbox['RLIMIT_FSIZE'] / 2**20:g} MiB")
    if sandbox.get("network"):
        parts.append("no network" if "no interfaces" in str(sandbox["network"]) else "network")
    if sandbox.get("wall_seconds") is not None:
        parts.append("wall limit per problem from its tests")
    return ", ".join(parts) or NOT_RECORDED


def study_footer(
    conn,
    sha256: str,
    suites: Sequence[tuple[str, Sequence[str]]],
    contender_ids: Sequence[str],
    seed: int,
) -> Footer:
    """The facts, for the study's (suite name, problem ids) and contenders."""
    problem_ids = [p for _, ids in suites for p in ids]
    runs = answer_run_hosts(conn, contender_ids, problem_ids)
    hosts = [_json(host) for _, host, _ in runs]
    recorded: dict[str, dict[str, Any]] = {}
    for _, _, settings in runs:
        for name, facts in _json(settings).get("models", {}).items():
            if isinstance(facts, dict):
                recorded[name] = facts
    versions = sorted({str(h.get("gradebench")) for h in hosts if h.get("gradebench")})
    contenders = contender_facts(conn, contender_ids)
    models: dict[str, str] = {}
    for row in contenders:
        facts = recorded.get(row["model_name"], {})
        backend = facts.get("backend") or NOT_RECORDED
        version = facts.get("backend_version")
        models[row["model_sha256"]] = (
            f"{row['model_name']}: sha256 {row['model_sha256']}, "
            f"quantization {facts.get('quantization') or NOT_RECORDED}, "
            f"backend {backend}{' ' + version if version else ''}"
        )
    templates = sorted(
        {
            f"{row['prompt_style']} {hashlib.sha256(row['prompt_template'].encode()).hexdigest()[:12]}"
            for row in contenders
        }
    )
    params = sorted({f"{row['name']}: {row['params']}" for row in contenders})
    data = []
    for suite, ids in suites:
        contents = problem_contents(conn, ids)
        data.append(f"{suite}: {len(contents)} problems, sha256 {data_hash(contents)[:16]}")
    limits = sorted(
        {_limits(limits) for limits in sandbox_settings(conn, problem_ids)}
        - {NOT_RECORDED}  # answers whose code never ran (syntax, no code) record no limits
    )
    machines = sorted(
        {
            f"{h.get('cpu_model') or 'CPU model not recorded'}, {h.get('cpu_count')} cores"
            for h in hosts
        }
    )
    return Footer(
        (
            ("study file", f"sha256 {sha256}"),
            ("gradebench", ", ".join(versions) or NOT_RECORDED),
            ("models", "; ".join(models.values()) or NOT_RECORDED),
            ("prompt templates", ", ".join(templates) or NOT_RECORDED),
            ("sampling", "; ".join(params) or NOT_RECORDED),
            ("data sets", "; ".join(data) or NOT_RECORDED),
            ("seed", f"{seed} (suite samples and bootstrap intervals)"),
            ("sandbox", "; ".join(limits) or NOT_RECORDED),
            ("machine", "; ".join(machines) or NOT_RECORDED),
        )
    )
