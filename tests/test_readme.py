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
