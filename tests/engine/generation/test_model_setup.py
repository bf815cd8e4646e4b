"""`gradebench models add` on the real default GGUFs, config editing, and `models list`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.generation.default_model import installed_path, original_path
from gradebench.engine.generation.model_setup import add_model
from gradebench.engine.generation.registry import (
    CHATML_TEMPLATE,
    DEFAULT_SYSTEM_PROMPT,
    load_registry,
)
from gradebench.tui.cli.main import main, run

EXISTING = """\
# my gradebench settings
[generation]
max_threads = 1   # keep one core for the editor

[models.mine]  # a hand-written entry
path = "mine.gguf"
prompt_template = "[INST] %1 [/INST]"
"""


def _registry(path: Path):
    return load_registry(Config(data=tomllib.loads(path.read_text()), path=path))


def test_add_picks_llamacpp_for_the_original_gguf_and_writes_a_loadable_entry(
    tmp_path: Path,
) -> None:
    config = tmp_path / "gradebench.toml"
    added = add_model(original_path(), config)
    assert (added.name, added.backend) == ("smollm2-135m-instruct.q4_1", "llamacpp")
    data = tomllib.loads(config.read_text())
    assert data["models"]["smollm2-135m-instruct.q4_1"] == {
        "backend": "llamacpp",
        "path": str(original_path().resolve()),
    }
    assert "# architecture llama, 135M parameters, Q4_1, context 8192" in config.read_text()
    registry = _registry(config)
    model = registry.models["smollm2-135m-instruct.q4_1"]
    assert (model.backend, model.path) == ("llamacpp", original_path().resolve())
    assert registry.contender("smollm2-135m-instruct.q4_1-cot").prompt_style == "cot"


def test_add_with_gpt4all_turns_the_gguf_template_into_the_builtin_percent_one_form(
    tmp_path: Path,
) -> None:
    config = tmp_path / "gradebench.toml"
    added = add_model(installed_path(), config, name="relabelled", backend="gpt4all")
    assert added.backend == "gpt4all"
    model = _registry(config).models["relabelled"]
    assert model.backend == "gpt4all"
    assert model.system_prompt + model.prompt_template == DEFAULT_SYSTEM_PROMPT + CHATML_TEMPLATE


def test_add_keeps_the_comments_and_formatting_of_an_existing_config(tmp_path: Path) -> None:
    config = tmp_path / "gradebench.toml"
    config.write_text(EXISTING)
    add_model(original_path(), config, name="smol")
    text = config.read_text()
    assert text.startswith(EXISTING)  # every byte the user wrote is still there, in place
    data = tomllib.loads(text)
    assert data["generation"] == {"max_threads": 1}
    assert set(data["models"]) == {"mine", "smol"}
    assert set(data["contenders"]) == {"smol-plain", "smol-cot"}


def test_add_refuses_a_name_already_in_the_config(tmp_path: Path) -> None:
    config = tmp_path / "gradebench.toml"
    config.write_text(EXISTING)
    with pytest.raises(UserError, match=r"models\.mine already exists"):
        add_model(original_path(), config, name="mine")
    assert config.read_text() == EXISTING


def test_gpt4all_refuses_the_original_gguf_naming_its_pre_tokenizer(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        add_model(original_path(), tmp_path / "gradebench.toml", backend="gpt4all")
    message = str(caught.value)
    assert "backend gpt4all cannot load architecture 'llama'" in message
    assert "pre-tokenizer 'smollm'" in message
    assert "\n" not in message


def _gguf_with_architecture(path: Path, arch: str) -> Path:
    import gguf
    import numpy as np

    writer = gguf.GGUFWriter(path, arch=arch)
    writer.add_string("general.name", "made up")
    writer.add_tensor("weights", np.zeros(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_an_unknown_architecture_is_one_line_naming_it_and_both_backends(tmp_path: Path) -> None:
    gguf_path = _gguf_with_architecture(tmp_path / "odd.gguf", "quantumformer")
    with pytest.raises(UserError) as caught:
        add_model(gguf_path, tmp_path / "gradebench.toml")
    message = str(caught.value)
    assert "no backend can load architecture 'quantumformer'" in message
    assert "gpt4all 2.8.2 does not know architecture 'quantumformer'" in message
    assert "llama.cpp" in message and "cannot load it" in message
    assert "\n" not in message
    assert not (tmp_path / "gradebench.toml").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04 not a model", "not a GGUF file (bad magic)"),
        (b"GGUF\x03\x00\x00\x00\xff", "not a readable GGUF file"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(tmp_path: Path, content: bytes, message: str) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(content)
    with pytest.raises(UserError) as caught:
        add_model(bad, tmp_path / "gradebench.toml")
    assert str(bad) in str(caught.value) and message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_models_add_command_writes_the_config_in_use_and_models_list_shows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gradebench.toml"
    config.write_text(EXISTING)
    assert run(["--config", str(config), "models", "add", str(original_path()), "--name", "s"]) == 0
    assert "added model s (backend llamacpp)" in capsys.readouterr().out
    (tmp_path / "mine.gguf").write_bytes(original_path().read_bytes())
    assert run(["--config", str(config), "models", "list"]) == 0
    lines = {
        line.split("\t")[0].strip(): line.split("\t")
        for line in capsys.readouterr().out.splitlines()
    }
    assert lines["s"][1:5] == ["llamacpp", "llama 135M", "Q4_1", "93.8 MB"]
    assert lines["mine"][1:5] == ["gpt4all", "llama 135M", "Q4_1", "93.8 MB"]
    assert lines["smollm2-135m-llamacpp"][1] == "llamacpp"


def test_the_models_add_command_fails_in_one_line_for_a_missing_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["models", "add", str(tmp_path / "nope.gguf")])
    assert exited.value.code != 0
    err = capsys.readouterr().err
    assert "nope.gguf: no such file" in err and len(err.strip().splitlines()) == 1


# --- models add --server: against the real llama_cpp.server ---


def test_models_add_server_writes_an_openai_entry_keeping_the_config_and_it_generates(
    tmp_path: Path, llama_server, capsys: pytest.CaptureFixture[str]
) -> None:
    from gradebench.engine.generation.backend import GenerationRequest
    from gradebench.engine.generation.openai_backend import OpenAIBackend
    from tests.llama_server import SERVED_NAME

    config = tmp_path / "gradebench.toml"
    config.write_text(EXISTING)
    url = llama_server.base_url.removesuffix("/v1")  # the /v1 is added when the URL has no path
    code = run(
        ["--config", str(config), "models", "add", "--server", url, "--api-key-env", "MY_KEY"]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert f"added model {SERVED_NAME} (backend openai, {SERVED_NAME} at {url}/v1)" in out
    assert "weights fingerprint: none reported by the server" in out
    text = config.read_text()
    assert text.startswith(EXISTING)
    data = tomllib.loads(text)
    assert data["models"][SERVED_NAME] == {
        "backend": "openai",
        "base_url": f"{url}/v1",
        "server_model": SERVED_NAME,
        "api_key_env": "MY_KEY",
        "max_concurrent": 1,
    }
    assert run(["--config", str(config), "models", "list", "--probe"]) == 0
    listing = capsys.readouterr().out
    assert f"server reports {SERVED_NAME}, weights fingerprint none reported" in listing
    registry = _registry(config)
    contender = registry.contender(f"{SERVED_NAME}-plain")
    with OpenAIBackend() as backend:
        result = backend.generate(GenerationRequest.for_contender(contender, "Say yes"))
    assert result.stop_reason in ("done", "max_tokens") and result.text


def test_models_add_server_refuses_a_model_it_does_not_serve_in_one_line(
    tmp_path: Path, llama_server, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "gradebench.toml"
    config.write_text(EXISTING)
    with pytest.raises(SystemExit) as exited:
        main(
            ["--config", str(config), "models", "add", "--server", llama_server.base_url,
             "--model", "gpt-9"]
        )  # fmt: skip
    assert exited.value.code != 0
    err = capsys.readouterr().err.strip()
    assert "--model 'gpt-9'" in err and llama_server.base_url in err
    assert len(err.splitlines()) == 1
    assert config.read_text() == EXISTING  # nothing written


def test_models_add_server_on_a_closed_port_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.llama_server import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(SystemExit) as exited:
        main(["models", "add", "--server", url])
    assert exited.value.code != 0
    err = capsys.readouterr().err.strip()
    assert f"{url}/v1: cannot connect" in err and len(err.splitlines()) == 1
