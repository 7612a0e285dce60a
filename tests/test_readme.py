"""The README's Python example runs as written (in a temporary working directory)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _snippet(heading: str) -> str:
    text = README.read_text()
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return code


def test_the_search_from_python_example_runs(tmp_path, monkeypatch, capsys, one_intra_op_thread):
    monkeypatch.chdir(tmp_path)
    exec(compile(_snippet("Search from Python"), "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed and all(re.fullmatch(r"micro-[0-9a-f]{12} \d+\.\d\d% \d+\.\dM MAdds", line) for line in printed)
    assert (tmp_path / "runs" / "python" / "archive.sqlite").is_file()


def test_the_own_search_space_example_runs_and_its_run_reports(tmp_path, monkeypatch, capsys):
    from nsga_lightning.cli import main

    monkeypatch.chdir(tmp_path)
    exec(compile(_snippet("Your own search space"), "README.md", "exec"), {"__name__": "readme"})  # noqa: S102
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) >= 2
    assert all(re.fullmatch(r"cell-[0-4]{6} error \d+\.\d\d latency [\d.]+", line) for line in printed), printed
    assert main(["report", "runs/cell"]) == 0
    page = (tmp_path / "runs" / "cell" / "report.html").read_text()
    assert page.count("no drawing: the space of this run (readme.CellSpace) cannot be rebuilt") == len(printed)


def _commands(heading: str) -> list[list[str]]:
    """The ``nsga-lightning ...`` lines of a section's bash blocks (continuations joined, comments and leading
    ``NAME=value`` environment settings dropped)."""
    import shlex

    text = README.read_text()
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
                words = words[1:]
            if words[:1] == ["nsga-lightning"]:
                commands.append(words[1:])
    return commands


def test_the_scale_out_commands_parse(capsys):
    """Every search command of "Scale out" is a valid command line (``--print_config``: nothing is trained)."""
    import pytest

    from nsga_lightning.cli import main

    commands = _commands("Scale out")
    assert len(commands) == 2
    for args in commands:
        with pytest.raises(SystemExit) as done:
            main([*args, "--print_config"])
        assert done.value.code in (0, None), args
        printed = capsys.readouterr().out
        assert "workers:" in printed


def test_ci_runs_the_readme_test_commands():
    """``.ci/run`` runs the lines of "Run the tests" as written (in this order, the last one last), in a virtual
    environment folder of its own that it makes afresh."""
    text = README.read_text()
    section = text.split("Run the tests", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, flags=re.DOTALL).group(1)
    readme_lines = [line.replace(".venv", ".ci-venv") for line in block.strip().splitlines()]
    assert any("python -m venv" in line for line in readme_lines)  # the README's own virtual environment
    ci_lines = [line for line in (README.parent / ".ci" / "run").read_text().splitlines() if line.strip()]
    places = [ci_lines.index(line) for line in readme_lines]
    assert places == sorted(places) and places[-1] == len(ci_lines) - 1
    assert ci_lines[places[0] - 1] == "rm -rf .ci-venv"  # fresh on every run
