"""Which config file and which database the ``gradebench`` command uses, seen from outside.

Each case runs the installed command in a child process with a clean environment (only
PATH, HOME and LANG: no GRADEBENCH_* variable unless the case sets it). Four candidate
config files each name their own contender and their own ``paths.db``; ``models list``
shows which file was read, and ``export`` on a database that does not exist yet names the
path it resolved (it refuses before creating anything).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import REPO, TEST_DATA, Cli

pytestmark = pytest.mark.slow


def _config(folder: Path, tag: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "gradebench.toml"
    path.write_text(
        f'[paths]\ndb = "{tag}.db"\n{extra}'
        f'[contenders.from-{tag}]\nmodel = "smollm2-135m"\nprompt_style = "plain"\n'
    )
    return path


@pytest.fixture
def places(tmp_path: Path) -> dict[str, Path]:
    """A home with a user config, a working folder with ./gradebench.toml, and two others."""
    home = tmp_path / "home"
    return {
        "home": home,
        "user": _config(home / ".config" / "gradebench", "user"),
        "cwd_dir": _config(tmp_path / "work", "cwd").parent,
        "env": _config(tmp_path / "from-env", "env"),
        "flag": _config(tmp_path / "from-flag", "flag"),
    }


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8", **extra}


def _contenders(result) -> set[str]:
    names = {line.split()[0] for line in result.out.splitlines() if line.strip()}
    return {name for name in names if name.startswith("from-")}


def _resolved_db(places: dict[str, Path], *args: str, **env: str) -> Path:
    """The database path ``export`` resolves (its one-line error names it)."""
    result = Cli.subprocess(
        *args,
        "export",
        "--format",
        "csv",
        cwd=places["cwd_dir"],
        env=_clean_env(places["home"], **env),
    )
    assert result.code != 0
    (line,) = result.err.strip().splitlines()
    prefix, _, rest = line.partition("database ")
    assert prefix == "gradebench: " and rest.endswith(": does not exist (nothing graded yet)"), line
    path = Path(rest.removesuffix(": does not exist (nothing graded yet)"))
    return path if path.is_absolute() else places["cwd_dir"] / path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("flag", "env"), "flag"),  # --config beats $GRADEBENCH_CONFIG
        (("env",), "env"),  # $GRADEBENCH_CONFIG beats ./gradebench.toml
        ((), "cwd"),  # ./gradebench.toml beats the user config dir
    ],
)
def test_config_file_precedence_flag_then_env_then_cwd(places, given, expected) -> None:
    args = ["--config", str(places["flag"])] if "flag" in given else []
    env = {"GRADEBENCH_CONFIG": str(places["env"])} if "env" in given else {}
    listed = Cli.subprocess(
        *args, "models", "list", cwd=places["cwd_dir"], env=_clean_env(places["home"], **env)
    )
    assert listed.code == 0, listed.err
    assert _contenders(listed) == {f"from-{expected}"}
    folder = places[expected] if expected != "cwd" else places["cwd_dir"] / "gradebench.toml"
    assert _resolved_db(places, *args, **env) == folder.parent / f"{expected}.db"


def test_the_user_config_dir_is_read_when_nothing_else_is_there(places) -> None:
    (places["cwd_dir"] / "gradebench.toml").unlink()
    listed = Cli.subprocess("models", "list", cwd=places["cwd_dir"], env=_clean_env(places["home"]))
    assert listed.code == 0, listed.err
    assert _contenders(listed) == {"from-user"}
    assert _resolved_db(places) == places["user"].parent / "user.db"


def test_no_config_anywhere_means_defaults_and_grades_db_in_the_working_folder(places) -> None:
    (places["cwd_dir"] / "gradebench.toml").unlink()
    places["user"].unlink()
    listed = Cli.subprocess("models", "list", cwd=places["cwd_dir"], env=_clean_env(places["home"]))
    assert listed.code == 0, listed.err
    assert _contenders(listed) == set()
    assert _resolved_db(places) == places["cwd_dir"] / "grades.db"


def test_db_flag_then_env_then_paths_db(places) -> None:
    flag_db, env_db = places["home"] / "flag-db.db", places["home"] / "env-db.db"
    assert _resolved_db(places, "--db", str(flag_db), GRADEBENCH_DB=str(env_db)) == flag_db
    assert _resolved_db(places, GRADEBENCH_DB=str(env_db)) == env_db
    assert _resolved_db(places) == places["cwd_dir"] / "cwd.db"  # paths.db of ./gradebench.toml


def test_a_relative_paths_db_is_taken_from_the_config_files_folder_not_the_cwd(places) -> None:
    elsewhere = places["home"] / "elsewhere"
    elsewhere.mkdir()
    result = Cli.subprocess(
        "--config",
        str(places["env"]),
        "export",
        "--format",
        "csv",
        cwd=elsewhere,
        env=_clean_env(places["home"]),
    )
    assert result.err.strip() == (
        f"gradebench: database {places['env'].parent / 'env.db'}: does not exist (nothing graded yet)"
    )


def test_paths_problems_adds_the_suites_found_beside_the_config(tmp_path: Path) -> None:
    home = tmp_path / "home"
    config = _config(tmp_path / "project", "p", extra='problems = "mine"\n')
    suite = config.parent / "mine" / "my-suite"
    suite.mkdir(parents=True)
    (suite / "add-two.toml").write_text((TEST_DATA / "problems/demo/add-two.toml").read_text())
    env = _clean_env(home)
    suites = Cli.subprocess("--config", str(config), "problems", "suites", cwd=tmp_path, env=env)
    assert suites.code == 0, suites.err
    assert "my-suite" in suites.out.split()
    listed = Cli.subprocess(
        "--config", str(config), "problems", "list", "--suite", "my-suite", cwd=tmp_path, env=env
    )
    assert listed.code == 0, listed.err
    assert [line.split("\t")[0] for line in listed.out.splitlines()] == ["my-suite/add-two"]
    without = Cli.subprocess("problems", "suites", cwd=tmp_path, env=env)
    assert "my-suite" not in without.out.split()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--config", "nowhere.toml"], {}, "gradebench: --config nowhere.toml: no such file"),
        (
            [],
            {"GRADEBENCH_CONFIG": "nowhere.toml"},
            "gradebench: GRADEBENCH_CONFIG=nowhere.toml: no such file",
        ),
    ],
    ids=["flag", "env"],
)
def test_a_missing_named_config_file_is_one_line_and_a_nonzero_exit(
    tmp_path: Path, args, env, message
) -> None:
    result = Cli.subprocess(
        *args, "models", "list", cwd=tmp_path, env=_clean_env(tmp_path / "home", **env)
    )
    assert result.code != 0
    assert result.err.strip() == message
    assert "Traceback" not in result.err


def test_the_shipped_lowcost60_suite_is_found_from_any_working_folder(tmp_path: Path) -> None:
    suites = Cli.subprocess("problems", "suites", cwd=tmp_path, env=_clean_env(tmp_path / "home"))
    assert suites.code == 0, suites.err
    rows = [line.split("\t") for line in suites.out.splitlines()[1:]]
    assert [row[0] for row in rows] == ["lowcost60", "humaneval", "humaneval+", "mbpp+"]
    assert rows[0][1:4] == ["files", "60", str(REPO / "problems" / "lowcost60")]
