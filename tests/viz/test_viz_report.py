"""The self-contained HTML report."""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import numpy as np
import pytest

from nsga_lightning.spaces import MACRO_ZOO, MicroSpace
from nsga_lightning.viz import build_report, non_dominated, retrain_command

URL_ATTRIBUTES = {
    "src", "href", "xlink:href", "srcset", "action", "poster", "data", "background", "formaction", "cite",
}


class Collector(HTMLParser):
    """Every start tag with its attributes, and the text of the document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html_text: str) -> Collector:
    collector = Collector()
    collector.feed(html_text)
    collector.close()
    return collector


@pytest.fixture(scope="module")
def search_result():
    """Rows of a small fake micro search, its final front, genotypes and one custom retrain command."""
    space = MicroSpace()
    genomes = space.sample(np.random.default_rng(7), 10)
    rng = np.random.default_rng(8)
    rows, genotypes = [], {}
    for i, genome in enumerate(genomes):
        key = space.key(genome)
        genotypes[key] = space.decode(genome)
        rows.append({"key": key, "generation": i // 5, "status": "ok", "error": float(rng.uniform(5, 20)),
                     "madds": float(rng.uniform(30e6, 300e6)), "params": float(rng.integers(2e5, 9e5)),
                     "seconds": float(rng.uniform(60, 4000))})
    rows.append({"key": "micro-failed", "generation": 1, "status": "failed", "seconds": 1.0})
    front_keys = non_dominated({r["key"]: (r["error"], r["madds"]) for r in rows if r["status"] == "ok"})
    front_rows = [r for r in rows if r["key"] in front_keys]
    # one macro architecture on the front too, without a custom command
    macro = {"key": "macro-nsganet", "generation": 1, "status": "ok", "error": 1.0, "madds": 1.24e9,
             "params": 3.37e6, "seconds": 3725.0}
    rows.append(macro)
    front_rows.append(macro)
    genotypes["macro-nsganet"] = MACRO_ZOO["NSGANet"]
    commands = {front_rows[0]["key"]: "nsga-lightning fit --config /runs/x/pareto/custom.yaml"}
    return rows, front_rows, genotypes, commands


def test_report_is_self_contained(tmp_path, search_result) -> None:
    rows, front_rows, genotypes, commands = search_result
    out = build_report(
        tmp_path / "run" / "report.html", title="micro <search> & co", all_rows=rows, front_rows=front_rows,
        hypervolume=[0.2, 0.35, 0.4], fronts=None, genotypes=genotypes, retrain_commands=commands,
        run_dir="runs/micro", config_text="search:\n  seed: 0  # <not a tag>\n",
    )
    text = out.read_text(encoding="utf-8")
    doc = parse(text)
    ids = {attrs.get("id") for _, attrs in doc.tags}
    assert {"pareto-front", "pareto-table", "hypervolume", "config"} <= ids
    tags = [tag for tag, _ in doc.tags]
    assert "script" not in tags and "link" not in tags and "iframe" not in tags
    assert "http://" not in text and "https://" not in text and "@import" not in text and "url(" not in text
    for tag, attrs in doc.tags:
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:
                assert value and value.startswith(("data:", "#")), (tag, name, value[:40])
    images = [attrs["src"] for tag, attrs in doc.tags if tag == "img"]
    assert len(images) == 2 + len(front_rows)  # front plot, hypervolume, one drawing per architecture
    for src in images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    body = "".join(doc.text)
    assert "micro <search> & co" in body  # escaped in the source, intact once parsed
    assert "# <not a tag>" in body


def test_report_table_rows_and_commands(tmp_path, search_result) -> None:
    rows, front_rows, genotypes, commands = search_result
    out = build_report(tmp_path / "report.html", title="t", all_rows=rows, front_rows=front_rows,
                       hypervolume=[], genotypes=genotypes, retrain_commands=commands, run_dir="runs/micro")
    doc = parse(out.read_text(encoding="utf-8"))
    arch_rows = [attrs["data-key"] for tag, attrs in doc.tags if tag == "tr" and attrs.get("class") == "arch"]
    assert sorted(arch_rows) == sorted(r["key"] for r in front_rows)
    errors = [r["error"] for r in sorted(front_rows, key=lambda r: r["error"])]
    assert [next(r["key"] for r in front_rows if r["error"] == e) for e in errors] == arch_rows
    body = "".join(doc.text)
    for row in front_rows:
        expected = commands.get(row["key"], retrain_command("runs/micro", row["key"]))
        assert expected in body
        assert f"{row['error']:.2f}" in body
        assert f"{row['madds'] / 1e6:.1f}" in body and f"{row['params'] / 1e6:.3f}" in body
    assert "1h 02m" in body  # 3725 s of training
    assert retrain_command("runs/micro", "k") == "nsga-lightning fit --config runs/micro/pareto/k.yaml"


def test_report_without_genotypes_or_history(tmp_path) -> None:
    row = {"key": "k1", "generation": 0, "status": "ok", "error": 9.5, "madds": 50e6, "params": 3e5}
    out = build_report(tmp_path / "r.html", title="tiny", all_rows=[row], front_rows=[row])
    text = out.read_text(encoding="utf-8")
    assert "no genotype given" in text
    assert "nsga-lightning fit --config RUN/pareto/k1.yaml" in text


def test_report_needs_html_extension(tmp_path) -> None:
    with pytest.raises(ValueError, match=r"\.html"):
        build_report(tmp_path / "report.pdf", title="t", all_rows=[], front_rows=[])
    assert not any(tmp_path.iterdir())
