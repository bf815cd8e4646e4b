"""What a run records about its host (``runs.host``): the processor's name from
``/proc/cpuinfo`` and the model libraries' versions, read back by a study report's
reproducibility footer."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from gradebench.engine.store.runs import cpu_model, host_info, start_run


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def test_cpu_model_is_the_first_model_name_line(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nvendor_id\t: GenuineIntel\n"
        "model name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\nmodel\t\t: 79\n\n"
        "processor\t: 1\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n"
    )
    assert cpu_model(cpuinfo) == "Intel(R) Xeon(R) CPU @ 2.20GHz"


@pytest.mark.parametrize(
    "text", ["processor\t: 0\nBogoMIPS\t: 50.00\nmodel\t\t: 1\n", "model name\t:   \n"]
)
def test_cpu_model_is_none_without_a_model_name(tmp_path: Path, text: str) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(text)
    assert cpu_model(cpuinfo) is None


def test_cpu_model_is_none_without_the_file(tmp_path: Path) -> None:
    assert cpu_model(tmp_path / "absent") is None


def test_a_run_records_the_processor_and_the_model_libraries(db) -> None:
    import json

    run_id = start_run(db, "generate")
    (host,) = db.execute("SELECT host FROM runs WHERE id = ?", [run_id]).fetchone()
    recorded = json.loads(host)
    assert recorded["cpu_model"] == cpu_model()
    assert recorded["gpt4all"] == _version("gpt4all")
    assert recorded["llama_cpp_python"] == _version("llama-cpp-python")
    assert set(host_info()) == set(recorded)
