"""The study file (engine.workflows.study_file): what a valid file becomes, and one
``UserError`` naming the file and the key for each kind of mistake."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradebench.engine.config import load_config
from gradebench.engine.errors import UserError
from gradebench.engine.generation.prompts import load_prompt_templates
from gradebench.engine.generation.registry import GenerationParams, Registry, load_registry
from gradebench.engine.problems.subsets import Subset
from gradebench.engine.workflows.study_file import Study, parse_study, read_study

CONFIG = """\
[prompts]
terse = "Solve: {statement}"

[models.tiny]
path = "tiny.gguf"
temperature = 0.5
max_tokens = 100

[contenders.tiny-terse]
model = "tiny"
prompt_style = "terse"
top_k = 7
"""

VALID = """\
[study]
name = "lowcost-cpu"
description = "two small models"
samples = 5
seed = 7
temperatures = [0.2, 0.8]
ks = [5, 1]

[[contenders]]
model = "tiny"
prompt_styles = ["plain", "terse"]
max_tokens = 192

[[contenders]]
use = "smollm2-plain"

[[suites]]
name = "mbpp+"
sample = 6
difficulty = ["easy", "medium"]

[[suites]]
name = "demo"
ids = ["demo/p1", "demo/p*"]
tag = "strings"
"""

MINIMAL = """\
[[contenders]]
use = "smollm2-plain"

[[suites]]
name = "demo"
"""

STUDY_PATH = Path("/studies/lowcost.toml")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Registry, tuple[str, ...]]:
    """The registry and prompt styles of a config with a model, a style and a contender of
    its own (besides the built-ins)."""
    folder = tmp_path_factory.mktemp("config")
    (folder / "gradebench.toml").write_text(CONFIG, encoding="utf-8")
    config = load_config(str(folder / "gradebench.toml"))
    styles = load_prompt_templates(config).styles
    return load_registry(config, styles=styles), styles


def parse(setup: tuple[Registry, tuple[str, ...]], text: str) -> Study:
    registry, styles = setup
    return parse_study(STUDY_PATH, text, registry, styles)


def mistake(setup: tuple[Registry, tuple[str, ...]], text: str) -> str:
    """The message of the UserError ``text`` raises (checked to be one line that starts
    with the study file's path)."""
    with pytest.raises(UserError) as raised:
        parse(setup, text)
    message = str(raised.value)
    assert message.startswith(f"{STUDY_PATH}: "), message
    assert "\n" not in message
    return message


# --- a valid file ----------------------------------------------------------------------


def test_a_valid_file_parses_into_its_contenders_suites_and_grading_plan(setup):
    registry, _ = setup
    study = parse(setup, VALID)

    assert study.path == STUDY_PATH
    assert study.text == VALID
    assert study.sha256 == hashlib.sha256(VALID.encode("utf-8")).hexdigest()
    assert (study.name, study.description) == ("lowcost-cpu", "two small models")
    assert (study.samples, study.seed, study.ks, study.swept) == (5, 7, (1, 5), True)

    # inline: model x prompt_styles, then `use`; each one per temperature, in order
    assert [c.name for c in study.contenders] == [
        "tiny-plain@t0.2",
        "tiny-plain@t0.8",
        "tiny-terse@t0.2",
        "tiny-terse@t0.8",
        "smollm2-plain@t0.2",
        "smollm2-plain@t0.8",
    ]
    assert [c.temperature for c in study.contenders] == [0.2, 0.8] * 3
    for entry in study.contenders:
        assert entry.contender.params.temperature == entry.temperature
    tiny = registry.models["tiny"]
    inline = [c.contender for c in study.contenders[:4]]
    assert [c.prompt_style for c in inline] == ["plain", "plain", "terse", "terse"]
    for contender in inline:
        assert contender.model == tiny
        # the model's defaults, the contender's max_tokens over them, the sweep's temperature
        assert contender.params == GenerationParams(
            temperature=contender.params.temperature, max_tokens=192
        )
    used = study.contenders[4].contender
    builtin = registry.contenders["smollm2-plain"]
    assert (used.model, used.prompt_style) == (builtin.model, builtin.prompt_style)
    assert used.params.top_p == builtin.params.top_p

    assert [s.name for s in study.suites] == ["mbpp+", "demo"]
    assert study.suites[0].subset == Subset(difficulties=("easy", "medium"), sample=6, seed=7)
    assert study.suites[1].subset == Subset(ids=("demo/p1", "demo/p*"), tags=("strings",), seed=7)

    # grading defaults: every suite by hand, one reviewer
    assert study.grading.by_hand == ("mbpp+", "demo")
    assert study.grading.reviewers == 1


def test_a_minimal_file_takes_the_defaults(setup):
    registry, _ = setup
    study = parse(setup, MINIMAL)
    assert study.name == "lowcost"  # the file's stem
    assert (study.description, study.samples, study.seed, study.ks) == ("", 1, 0, (1,))
    assert study.swept is False
    assert len(study.contenders) == 1
    only = study.contenders[0]
    assert only.contender == registry.contenders["smollm2-plain"]
    assert only.temperature == registry.contenders["smollm2-plain"].params.temperature
    assert study.suites[0].subset == Subset()
    assert study.grading.by_hand == ("demo",)


def test_use_takes_a_config_contender_as_it_is(setup):
    registry, _ = setup
    study = parse(setup, MINIMAL.replace("smollm2-plain", "tiny-terse"))
    assert study.contenders[0].contender == registry.contenders["tiny-terse"]
    assert study.contenders[0].contender.params.top_k == 7
    assert study.contenders[0].temperature == 0.5  # the model's default


def test_an_inline_contender_defaults_to_plain_and_name_overrides_its_name(setup):
    text = """\
[[contenders]]
model = "tiny"

[[contenders]]
model = "smollm2-135m"
prompt_style = "cot"
name = "smol-thinking"
temperature = 0.0

[[suites]]
name = "demo"
"""
    study = parse(setup, text)
    assert [c.name for c in study.contenders] == ["tiny-plain", "smol-thinking"]
    assert [c.contender.prompt_style for c in study.contenders] == ["plain", "cot"]
    assert [c.temperature for c in study.contenders] == [0.5, 0.0]


def test_grading_by_hand_and_reviewers_are_read(setup):
    text = VALID + '\n[grading]\nby_hand = ["demo"]\nreviewers = 3\n'
    study = parse(setup, text)
    assert study.grading.by_hand == ("demo",)
    assert study.grading.reviewers == 3


def test_sha256_changes_with_any_byte_of_the_text(setup):
    first = parse(setup, MINIMAL)
    second = parse(setup, MINIMAL + "# a comment\n")
    assert first.sha256 != second.sha256
    assert second.sha256 == hashlib.sha256((MINIMAL + "# a comment\n").encode()).hexdigest()


def test_read_study_reads_the_file_and_names_a_missing_one(setup, tmp_path):
    registry, styles = setup
    path = tmp_path / "s.toml"
    path.write_text(MINIMAL, encoding="utf-8")
    study = read_study(path, registry, styles)
    assert (study.path, study.name, study.text) == (path, "s", MINIMAL)
    with pytest.raises(UserError, match=r"nothere\.toml: no such study file"):
        read_study(tmp_path / "nothere.toml", registry, styles)
    path.write_bytes(b"\xff\xfe[study]\n")
    with pytest.raises(UserError) as raised:
        read_study(path, registry, styles)
    assert str(raised.value).startswith(f"{path}: cannot read the study file")


# --- one UserError per kind of mistake ---------------------------------------------------


def test_bad_toml(setup):
    message = mistake(setup, "[study\nname = 1\n")
    assert message.startswith(f"{STUDY_PATH}: not valid TOML:")


def test_unknown_top_level_table(setup):
    message = mistake(setup, MINIMAL + "\n[report]\nformat = 'md'\n")
    assert message.startswith(f"{STUDY_PATH}: report: unknown key (allowed: contenders, ")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[study]\nsampels = 3\n\n" + MINIMAL, "study.sampels: unknown key"),
        (
            MINIMAL.replace('use = "smollm2-plain"', 'model = "tiny"\ntemprature = 0.3'),
            "contenders[0].temprature: unknown key",
        ),
        (
            MINIMAL.replace('use = "smollm2-plain"', 'use = "smollm2-plain"\nmax_tokens = 9'),
            "contenders[0].max_tokens: unknown key (allowed: use)",
        ),
        (MINIMAL + 'difficulties = ["easy"]\n', "suites[0].difficulties: unknown key"),
        (MINIMAL + "\n[grading]\nreviewer = 2\n", "grading.reviewer: unknown key"),
    ],
    ids=["study", "contender", "use-contender", "suite", "grading"],
)
def test_unknown_key(setup, text, key):
    message = mistake(setup, text)
    assert message.startswith(f"{STUDY_PATH}: {key}")


def test_missing_contenders(setup):
    message = mistake(setup, '[study]\nname = "x"\n\n[[suites]]\nname = "demo"\n')
    assert message == f"{STUDY_PATH}: [[contenders]] missing: a study needs at least one"


def test_missing_suites(setup):
    message = mistake(setup, '[[contenders]]\nuse = "smollm2-plain"\n')
    assert message == f"{STUDY_PATH}: [[suites]] missing: a study needs at least one"


def test_contenders_given_as_a_table_instead_of_an_array(setup):
    text = '[contenders]\nuse = "smollm2-plain"\n\n[[suites]]\nname = "demo"\n'
    message = mistake(setup, text)
    assert message.startswith(f"{STUDY_PATH}: contenders: must be an array of tables")


def test_unknown_model(setup):
    text = MINIMAL.replace('use = "smollm2-plain"', 'model = "gpt-5"')
    message = mistake(setup, text)
    assert message.startswith(f"{STUDY_PATH}: contenders[0].model: unknown model 'gpt-5'")
    assert "tiny" in message  # the known models are listed


def test_unknown_use_contender(setup):
    message = mistake(setup, MINIMAL.replace("smollm2-plain", "mistral-plain"))
    assert message.startswith(f"{STUDY_PATH}: contenders[0].use: unknown contender 'mistral-plain'")
    assert "tiny-terse" in message


def test_unknown_prompt_style(setup):
    text = MINIMAL.replace(
        'use = "smollm2-plain"', 'model = "tiny"\nprompt_styles = ["cot", "zen"]'
    )
    message = mistake(setup, text)
    assert message.startswith(f"{STUDY_PATH}: contenders[0].prompt_styles: unknown style 'zen'")
    assert "terse" in message


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("prompt_styles = [1]", "prompt_styles: must be a string or a list of strings"),
        ("prompt_style = 3", "prompt_style: must be a string or a list of strings"),
        ('prompt_style = "zen"', "prompt_style: unknown style 'zen'"),
    ],
)
def test_a_bad_prompt_style_names_the_key_it_was_given_in(setup, line, key):
    text = MINIMAL.replace('use = "smollm2-plain"', f'model = "tiny"\n{line}')
    assert mistake(setup, text).startswith(f"{STUDY_PATH}: contenders[0].{key}")


def test_both_prompt_style_and_prompt_styles(setup):
    text = MINIMAL.replace(
        'use = "smollm2-plain"', 'model = "tiny"\nprompt_style = "cot"\nprompt_styles = ["plain"]'
    )
    message = mistake(setup, text)
    assert message == (f"{STUDY_PATH}: contenders[0]: give prompt_style or prompt_styles, not both")


def test_name_with_two_styles(setup):
    text = MINIMAL.replace(
        'use = "smollm2-plain"', 'model = "tiny"\nprompt_styles = ["plain", "cot"]\nname = "t"'
    )
    message = mistake(setup, text)
    assert message.startswith(f"{STUDY_PATH}: contenders[0].name: ")
    assert "only with one prompt style" in message


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("temperature = -0.1", "contenders[0].temperature: must be >= 0"),
        ("top_p = 0", "contenders[0].top_p: must be in (0, 1]"),
        ("top_p = 1.5", "contenders[0].top_p: must be in (0, 1]"),
        ("max_tokens = 0", "contenders[0].max_tokens: must be >= 1"),
        ("top_k = 2.5", "contenders[0].top_k: must be an integer"),
        ('temperature = "hot"', "contenders[0].temperature: must be a number"),
    ],
)
def test_bad_param(setup, line, key):
    text = MINIMAL.replace('use = "smollm2-plain"', f'model = "tiny"\n{line}')
    message = mistake(setup, text)
    assert message.startswith(f"{STUDY_PATH}: {key}")


@pytest.mark.parametrize(
    ("head", "key"),
    [
        ("samples = 0", "study.samples: must be >= 1, got 0"),
        ("samples = 2.0", "study.samples: must be an integer"),
        ("samples = true", "study.samples: must be an integer"),
        ("seed = -1", "study.seed: must be >= 0"),
        ("ks = []", "study.ks: must be a non-empty list"),
        ("ks = [0]", "study.ks: must be >= 1"),
        ("name = ''", "study.name: must be a non-empty string"),
        ("description = 3", "study.description: must be a string"),
    ],
)
def test_bad_study_value(setup, head, key):
    message = mistake(setup, f"[study]\n{head}\n\n{MINIMAL}")
    assert message.startswith(f"{STUDY_PATH}: {key}")


def test_ks_with_k_above_samples(setup):
    message = mistake(setup, f"[study]\nsamples = 3\nks = [1, 5]\n\n{MINIMAL}")
    assert message == (f"{STUDY_PATH}: study.ks: pass@5 needs samples >= 5 (study.samples = 3)")


def test_ks_equal_to_samples_is_fine(setup):
    assert parse(setup, f"[study]\nsamples = 3\nks = [3, 1, 3]\n\n{MINIMAL}").ks == (1, 3)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[0.2, 0.2]", "a temperature is listed twice"),
        ("[0.5, 0.50]", "a temperature is listed twice"),
        ("[1, 1.0]", "a temperature is listed twice"),
        ("[]", "must be a non-empty list of numbers"),
        ("[-0.5]", "-0.5 is not a temperature >= 0"),
        ('["hot"]', "'hot' is not a temperature >= 0"),
        ("[nan]", "nan is not a temperature >= 0"),
        ("[inf]", "inf is not a temperature >= 0"),
    ],
)
def test_bad_temperatures(setup, value, expected):
    message = mistake(setup, f"[study]\ntemperatures = {value}\n\n{MINIMAL}")
    assert message == f"{STUDY_PATH}: study.temperatures: {expected}"


def test_duplicate_contender_name(setup):
    text = MINIMAL.replace(
        'use = "smollm2-plain"', 'use = "smollm2-plain"\n\n[[contenders]]\nuse = "smollm2-plain"'
    )
    assert mistake(setup, text) == f"{STUDY_PATH}: contenders: 'smollm2-plain' appears twice"


def test_an_inline_contender_named_like_a_used_one_is_a_duplicate(setup):
    text = MINIMAL.replace(
        'use = "smollm2-plain"',
        'use = "smollm2-plain"\n\n[[contenders]]\nmodel = "smollm2-135m"\nname = "smollm2-plain"',
    )
    assert mistake(setup, text) == f"{STUDY_PATH}: contenders: 'smollm2-plain' appears twice"


def test_duplicate_suite(setup):
    message = mistake(setup, MINIMAL + '\n[[suites]]\nname = "demo"\nsample = 3\n')
    assert message.startswith(f"{STUDY_PATH}: suites: 'demo' appears twice")


@pytest.mark.parametrize(
    ("suite", "key"),
    [
        ('tag = "x"', "suites[0].name: missing"),
        ('name = "demo"\nsample = 0', "suites[0].sample: must be >= 1"),
        ('name = "demo"\nids = [3]', "suites[0].ids: must be a string or a list of strings"),
        ('name = "demo"\ndifficulty = [""]', "suites[0].difficulty: must be a string"),
    ],
)
def test_bad_suite(setup, suite, key):
    text = f'[[contenders]]\nuse = "smollm2-plain"\n\n[[suites]]\n{suite}\n'
    assert mistake(setup, text).startswith(f"{STUDY_PATH}: {key}")


def test_by_hand_naming_a_suite_not_in_the_study(setup):
    message = mistake(setup, MINIMAL + '\n[grading]\nby_hand = ["demo", "mbpp+"]\n')
    assert message.startswith(
        f"{STUDY_PATH}: grading.by_hand: 'mbpp+' is not one of the study's suites"
    )


def test_reviewers_zero(setup):
    message = mistake(setup, MINIMAL + "\n[grading]\nreviewers = 0\n")
    assert message == f"{STUDY_PATH}: grading.reviewers: must be >= 1, got 0"


# --- whatever the text: a Study or one UserError ----------------------------------------


def check_study_or_user_error(setup, text: str) -> None:
    try:
        study = parse(setup, text)
    except UserError as exc:
        message = str(exc)
        assert message.startswith(f"{STUDY_PATH}: "), message
    else:  # what the checks promise holds for every study that parses
        assert isinstance(study, Study)
        assert study.contenders and study.suites
        names = [c.name for c in study.contenders]
        assert len(set(names)) == len(names)
        suites = [s.name for s in study.suites]
        assert len(set(suites)) == len(suites)
        assert set(study.grading.by_hand) <= set(suites)
        assert study.grading.reviewers >= 1
        assert min(study.ks) >= 1 and max(study.ks) <= study.samples
        for entry in study.contenders:
            shown = entry.contender.params.temperature
            assert shown == entry.temperature or (
                math.isnan(shown) and math.isnan(entry.temperature)
            )
            if study.swept:  # an inline contender's own temperature is registry.read_params's
                assert 0 <= entry.temperature < math.inf


@given(text=st.text())
def test_any_text_gives_a_study_or_a_user_error(setup, text):
    check_study_or_user_error(setup, text)


def toml_value(value: object) -> str:
    """``value`` written as TOML (enough for the values drawn below)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else repr(value)  # inf, -inf, 1e-05 are TOML too
    if isinstance(value, str):
        escaped = (
            "\\" + c if c in '"\\' else f"\\u{ord(c):04x}" if ord(c) < 0x20 or c == "\x7f" else c
            for c in value
        )
        return '"' + "".join(escaped) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise AssertionError(value)


SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=5),
)
ANYTHING = st.one_of(SCALARS, st.lists(SCALARS, max_size=3))
SUITES = ("demo", "mbpp+", "humaneval+")

# Each key's sensible values; a drawn document is mostly sensible, some values anything.
SENSIBLE: dict[str, dict[str, st.SearchStrategy[object]]] = {
    "study": {
        "name": st.sampled_from(["s", "lowcost"]),
        "samples": st.integers(1, 4),
        "seed": st.integers(0, 9),
        "temperatures": st.lists(
            st.sampled_from([0, 0.2, 0.8, 1.0]), min_size=1, max_size=3, unique=True
        ),
        "ks": st.lists(st.integers(1, 2), min_size=1, max_size=2),
    },
    "inline": {
        "model": st.sampled_from(["tiny", "smollm2-135m"]),
        "prompt_styles": st.lists(
            st.sampled_from(["plain", "cot", "terse"]), min_size=1, max_size=3, unique=True
        ),
        "prompt_style": st.sampled_from(["plain", "cot", "terse"]),
        "name": st.sampled_from(["a", "b"]),
        "temperature": st.floats(0, 2),
        "top_p": st.floats(0.05, 1),
        "max_tokens": st.integers(1, 300),
    },
    "use": {"use": st.sampled_from(["smollm2-plain", "smollm2-cot", "tiny-terse"])},
    "suite": {
        "name": st.sampled_from(SUITES),
        "ids": st.lists(st.sampled_from(["demo/p1", "Mbpp/*"]), min_size=1, max_size=2),
        "difficulty": st.sampled_from(["easy", "hard"]),
        "tag": st.sampled_from(["strings", "math"]),
        "sample": st.integers(1, 10),
    },
    "grading": {
        "by_hand": st.lists(st.sampled_from(SUITES), max_size=2),
        "reviewers": st.integers(1, 3),
    },
}
REQUIRED = {"inline": ["model"], "use": ["use"], "suite": ["name"]}


@st.composite
def study_documents(draw: st.DrawFn) -> str:
    """Study files made of the schema's keys with sensible values, except that one key
    (drawn by its position in the document, often past the end: none) holds a value of
    any TOML type or is a key the schema does not know."""
    odd = draw(st.integers(0, 24))
    odd_is_unknown_key = draw(st.booleans())
    position = 0

    def table(header: str, kind: str) -> str:
        nonlocal position
        keys = SENSIBLE[kind]
        chosen = REQUIRED.get(kind, []) + draw(
            st.lists(st.sampled_from(list(keys)), max_size=3, unique=True)
        )
        lines = [header]
        for key in dict.fromkeys(chosen):
            if position == odd and odd_is_unknown_key:
                lines.append(f"extra = {toml_value(draw(ANYTHING))}")
            odd_value = position == odd and not odd_is_unknown_key
            value = draw(ANYTHING if odd_value else keys[key])
            lines.append(f"{key} = {toml_value(value)}")
            position += 1
        return "\n".join(lines) + "\n"

    def few() -> int:
        """1, and now and then 0 (a study without contenders or suites)."""
        return int(draw(st.integers(0, 9)) > 0)

    parts = []
    if draw(st.booleans()):
        parts.append(table("[study]", "study"))
    for kind in draw(st.lists(st.sampled_from(["inline", "use"]), max_size=3, min_size=few())):
        parts.append(table("[[contenders]]", kind))
    for _ in range(draw(st.integers(few(), 2))):
        parts.append(table("[[suites]]", "suite"))
    if draw(st.booleans()):
        parts.append(table("[grading]", "grading"))
    return "\n".join(parts)


@given(text=study_documents())
def test_any_document_of_the_schema_gives_a_study_or_a_user_error(setup, text):
    check_study_or_user_error(setup, text)


# --- the command line ------------------------------------------------------------------


def test_study_plan_with_a_bad_key_is_one_line_on_stderr(tmp_path, cli):
    path = tmp_path / "study.toml"
    path.write_text(MINIMAL + 'difficulties = ["easy"]\n', encoding="utf-8")
    result = cli("study", "plan", path)
    assert result.code != 0
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"gradebench: {path}: suites[0].difficulties: unknown key")
    assert "Traceback" not in result.err
    assert result.out == ""
