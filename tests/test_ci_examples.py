"""The CI examples in examples/ci/ are valid YAML, do the documented flow, and only use
subcommands and options the CLI really has (so a renamed option breaks this test, not a
user's pipeline)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

import scanner.cli  # noqa: F401 - registers every subcommand on the app
from scanner.cli.common import app

CI = Path(__file__).resolve().parents[1] / "examples" / "ci"
GITHUB = CI / "github-actions.yml"
GITLAB = CI / "gitlab-ci.yml"
#: Shell separators between commands on one line.
_SEPARATORS = re.compile(r"\n|&&|\|\||;")
#: A command substitution with no nested parentheses, e.g. "$(ndaa-scan lab path x)".
_SUBSTITUTION = re.compile(r'"?\$\(([^()]*)\)"?')


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _tool_call(line: str) -> list[str] | None:
    """The arguments after ``ndaa-scan`` (by path or as $NDAA), past sudo and VAR=value."""
    words = shlex.split(line)
    while words and (words[0] == "sudo" or re.fullmatch(r"[A-Z_]+=\S*", words[0])):
        words.pop(0)
    if words and (words[0].endswith("/ndaa-scan") or words[0] in {"ndaa-scan", "$NDAA"}):
        return words[1:]
    return None


def _commands(scripts: list[str]) -> list[list[str]]:
    """The argument lists of every ndaa-scan call in the job's shell lines."""
    calls = []
    for script in scripts:
        text = script.replace("\\\n", " ")
        inner = _SUBSTITUTION.findall(text)
        text = _SUBSTITUTION.sub("VALUE", text)
        for line in [*_SEPARATORS.split(text), *inner]:
            call = _tool_call(line)
            if call is not None:
                calls.append(call)
    return calls


def _check_against_cli(argv: list[str]) -> None:
    # Typer vendors its own click: ask for groups by what they do, not by class.
    command: Any = typer.main.get_command(app)
    words = list(argv)
    while hasattr(command, "commands") and words and not words[0].startswith("-"):
        name = words.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"no subcommand {name!r} in {argv}"
        command = sub
    known = {opt for param in command.params for opt in getattr(param, "opts", [])}
    for word in words:
        if word.startswith("--"):
            assert word.split("=", 1)[0] in known, f"{argv}: {word} is not an option"


def _github_scripts() -> list[str]:
    steps = _load(GITHUB)["jobs"]["sweep"]["steps"]
    return [step["run"] for step in steps if "run" in step]


def _gitlab_scripts() -> list[str]:
    job = _load(GITLAB)["ndaa-scan-lab-sweep"]
    return [*job["before_script"], *job["script"], *job["after_script"]]


@pytest.mark.parametrize("scripts", [_github_scripts, _gitlab_scripts], ids=["github", "gitlab"])
def test_the_flow_is_install_lab_sweep_fail_on_covered_lab_down(scripts):
    calls = _commands(scripts())
    assert any(re.search(r"pip\"? install ndaa-scan", s) for s in scripts())
    verbs = [" ".join(c[:2]) for c in calls]
    assert "lab up" in verbs
    assert "lab down" in verbs
    [sweep] = [c for c in calls if c[0] == "sweep"]
    assert sweep[sweep.index("--fail-on") + 1] == "covered"
    assert sweep[sweep.index("--netns") + 1] == "ndl-ci-scan"
    assert sweep[-1] == "198.18.0.0/24"
    for call in calls:
        _check_against_cli(call)


def test_github_uploads_and_cleans_up_even_when_the_sweep_fails():
    data = _load(GITHUB)
    triggers = data.get("on", data.get(True))  # YAML 1.1 reads the bare key `on` as True
    assert {"push", "schedule"} <= set(triggers)
    steps = data["jobs"]["sweep"]["steps"]
    upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact"))
    down = next(s for s in steps if "lab down" in s.get("run", ""))
    assert upload["if"] == "always()"
    assert down["if"] == "always()"
    assert upload["with"]["path"] == "out/"


def test_gitlab_reports_junit_always():
    job = _load(GITLAB)["ndaa-scan-lab-sweep"]
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == "out/inventory.junit.xml"


def test_the_check_can_fail():
    with pytest.raises(AssertionError, match="not an option"):
        _check_against_cli(["sweep", "--fail-when", "covered", "198.18.0.0/24"])
    with pytest.raises(AssertionError, match="no subcommand"):
        _check_against_cli(["lab", "start"])
