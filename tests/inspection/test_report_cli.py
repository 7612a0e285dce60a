"""``nsga-lightning report RUN_DIR``: a self-contained page with the front, the table and retrain commands."""

from __future__ import annotations

import base64
import csv
import logging
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from nsga_lightning.search import Archive

URL_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "action", "poster", "data", "background", "formaction",
                  "cite", "longdesc", "manifest", "ping"}
FORBIDDEN_TAGS = {"script", "link", "iframe", "object", "embed", "frame", "base", "meta-refresh"}


class Page(HTMLParser):
    """Start tags with attributes, the ids seen, and the text of each ``tr`` by ``data-key``."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.row_text: dict[str, list[str]] = {}
        self._row: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if tag == "tr":
            self._row = attributes.get("data-key")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self._row = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row is not None:
            self.row_text.setdefault(self._row, []).append(data)

    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.tags if "id" in attrs}

    def rows(self, css_class: str) -> list[str]:
        return [attrs["data-key"] for tag, attrs in self.tags if tag == "tr" and attrs.get("class") == css_class]

    def body(self) -> str:
        return " ".join("".join(self.text).split())


@pytest.fixture(scope="module")
def report(search_run, tmp_path_factory) -> tuple[Path, str]:
    """``(run_dir, html)``: the report of the shared run, written with ``-o`` outside the run directory."""
    from nsga_lightning.cli import main

    run_dir, _ = search_run
    out = tmp_path_factory.mktemp("report") / "nested" / "search.html"
    assert main(["report", str(run_dir), "-o", str(out)]) == 0
    return run_dir, out.read_text(encoding="utf-8")


def _pareto_csv_keys(run_dir: Path) -> set[str]:
    with open(run_dir / "pareto.csv", newline="") as handle:
        return {row["key"] for row in csv.DictReader(handle)}


def test_report_is_self_contained(report) -> None:
    _, text = report
    page = Page(text)
    tags = {tag for tag, _ in page.tags}
    assert not tags & FORBIDDEN_TAGS, tags & FORBIDDEN_TAGS
    for tag, attrs in page.tags:
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:
                assert value.startswith(("data:", "#")), f"<{tag} {name}={value[:60]!r}> refers outside the page"
        assert not (tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh")
    lowered = text.lower()
    for fetch in ("http://", "https://", "//cdn", "url(", "@import", "@font-face", "file:"):
        assert fetch not in lowered, fetch
    for _, attrs in page.tags:
        if attrs.get("src", "").startswith("data:"):
            header, payload = attrs["src"].split(",", 1)
            assert header == "data:image/png;base64"
            assert base64.b64decode(payload)[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_shows_the_front_plot_and_hypervolume(report) -> None:
    _, text = report
    page = Page(text)
    assert {"pareto-front", "hypervolume", "pareto-table", "config"} <= page.ids()
    front_at = next(i for i, (tag, attrs) in enumerate(page.tags) if attrs.get("id") == "pareto-front")
    tag, attrs = page.tags[front_at + 1]
    assert tag == "img" and attrs["alt"] == "Pareto front" and attrs["src"].startswith("data:image/png;base64,")
    assert len(base64.b64decode(attrs["src"].split(",", 1)[1])) > 10_000  # a real plot, not a placeholder
    # front, hypervolume, one drawing per row, and the convergence section's hypervolume history and fronts
    assert [tag for tag, _ in page.tags].count("img") == 4 + len(page.rows("arch"))
    body = page.body()
    assert "20 architectures in the archive" in body and "final hypervolume" in body


def test_report_table_has_every_pareto_key_with_numbers_and_retrain_command(report, search_run) -> None:
    run_dir, text = report
    _, pareto_keys = search_run
    page = Page(text)
    assert sorted(page.rows("arch")) == sorted(pareto_keys) == sorted(_pareto_csv_keys(run_dir))
    assert page.rows("drawing") == page.rows("arch")
    with Archive(run_dir) as archive:
        rows = {key: archive.get(key) for key in pareto_keys}
    errors = [rows[key].objectives["error"] for key in page.rows("arch")]
    assert errors == sorted(errors)  # the table is sorted by the first objective
    for key, row in rows.items():
        numbers = "".join(page.row_text[key])
        assert key in numbers
        assert f"{row.objectives['error']:.2f}" in numbers and f"{row.objectives['madds'] / 1e6:.1f}" in numbers
        config = run_dir / "pareto" / f"{key}.yaml"
        assert config.is_file()  # the command points at the config the search wrote
        assert f"nsga-lightning fit --config {config.as_posix()}" in page.body()
        drawing = [attrs for tag, attrs in page.tags if tag == "img" and attrs.get("alt") == f"drawing of {key}"]
        assert len(drawing) == 1


def test_report_default_output_and_run_without_config(cli, search_run, tmp_path, caplog) -> None:
    source, pareto_keys = search_run
    run_dir = tmp_path / "copy"
    shutil.copytree(source, run_dir)
    (run_dir / "config.yaml").unlink()
    caplog.set_level(logging.INFO)
    code, stdout, stderr = cli("report", run_dir)
    assert code == 0, stderr
    assert stdout.strip() == f"wrote {run_dir / 'report.html'}"
    assert not [r for r in caplog.records if r.levelno >= 20 and "wrote" in r.getMessage()]  # said once
    page = Page((run_dir / "report.html").read_text(encoding="utf-8"))
    assert "config" not in page.ids()
    assert sorted(page.rows("arch")) == sorted(pareto_keys)


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp, run: [str(tmp)], "no search archive at"),
        (lambda tmp, run: [str(tmp / "missing")], "no search archive at"),
        (lambda tmp, run: [str(run), "-o", str(tmp / "report.pdf")], "ending in .html"),
        (lambda tmp, run: [], "the following arguments are required: run_dir"),
        (lambda tmp, run: [str(run), "--format", "pdf"], "unrecognized arguments: --format pdf"),
    ],
    ids=["not-a-run", "missing-dir", "not-html", "no-run-dir", "unknown-option"],
)
def test_report_bad_input_is_one_line_and_exit_2(cli, tmp_path, search_run, make_args, message) -> None:
    code, stdout, stderr = cli("report", *make_args(tmp_path, search_run[0]))
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nsga-lightning: error: ") and message in lines[0], stderr
    assert stdout == ""
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("command", ["report", "draw"])
def test_a_garbage_archive_is_one_line_for_report_and_draw(cli, tmp_path, command) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    archive = run_dir / "archive.sqlite"
    archive.write_bytes(b"this is not an sqlite database " * 200)
    before = archive.read_bytes()
    args = [run_dir] if command == "report" else ["micro-0000", "--run_dir", run_dir, "-o", tmp_path / "x.png"]
    code, stdout, stderr = cli(command, *args)
    lines = stderr.strip().splitlines()
    assert code != 0 and stdout == ""
    assert len(lines) == 1 and lines[0].startswith("nsga-lightning: error: ") and "file is not a database" in lines[0]
    assert archive.read_bytes() == before and not (run_dir / "report.html").exists()
