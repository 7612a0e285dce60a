"""``nsga-lightning draw``: every kind of architecture reference, every format, and one-line user errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from inspection_helpers import check_image

from nsga_lightning.cli import resolve_drawable
from nsga_lightning.search import Archive
from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, make_space

REPO = Path(__file__).resolve().parents[2]
MACRO_CONFIG = REPO / "configs" / "train" / "nsganet-macro.yaml"


def _genome_text(space: str, seed: int) -> str:
    genome = make_space(space, n_blocks=5, n_nodes=6).sample(np.random.default_rng(seed), 1)[0]
    return ",".join(str(int(v)) for v in genome)


@pytest.mark.parametrize(
    ("architecture", "options", "fmt"),
    [
        ("NSGANet", [], "png"),  # the seed's micro_visualize.py NSGANet
        ("NSGANet", ["--space", "macro"], "svg"),  # the seed's macro_visualize.py NSGANet
        ("DARTS", [], "pdf"),
        (_genome_text("micro", 0), [], "png"),  # 40 integers: micro, inferred
        (_genome_text("macro", 1), [], "svg"),  # 48 integers: macro with 6 nodes, inferred
        (f"[{_genome_text('macro', 2)}]", ["--space", "macro", "--title", "a macro genome"], "pdf"),
        (str(MACRO_CONFIG), [], "png"),
    ],
    ids=["zoo-micro", "zoo-macro", "zoo-darts", "genome-micro", "genome-macro", "genome-brackets", "config"],
)
def test_draw_writes_each_format(cli, tmp_path, architecture, options, fmt) -> None:
    out = tmp_path / "drawings" / f"arch.{fmt}"
    code, stdout, stderr = cli("draw", architecture, "-o", out, *options)
    assert code == 0, stderr
    assert stdout.strip() == f"wrote {out}"
    check_image(out)


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_draw_archive_key_of_a_run(cli, tmp_path, search_run, fmt) -> None:
    run_dir, pareto_keys = search_run
    out = tmp_path / f"key.{fmt}"
    code, _, stderr = cli("draw", pareto_keys[0], "--run_dir", run_dir, "--output", out)
    assert code == 0, stderr
    check_image(out)


def test_archive_key_and_generated_config_draw_the_archived_genotype(search_run) -> None:
    run_dir, pareto_keys = search_run
    space = make_space("micro", n_blocks=5)
    with Archive(run_dir) as archive:
        rows = {key: archive.get(key) for key in pareto_keys}
    for key, row in rows.items():
        expected = space.decode(row.genome)
        assert resolve_drawable(key, None, str(run_dir), 5, 6) == expected
        assert resolve_drawable(str(run_dir / "pareto" / f"{key}.yaml"), None, None, 5, 6) == expected


def test_draw_zoo_names_resolve_to_the_zoo() -> None:
    assert resolve_drawable("NSGANet", None, None, 5, 6) == MICRO_ZOO["NSGANet"]
    assert resolve_drawable("NSGANet", "macro", None, 5, 6) == MACRO_ZOO["NSGANet"]
    assert resolve_drawable(str(MACRO_CONFIG), None, None, 5, 6) == MACRO_ZOO["NSGANet"]


def _no_genotype_config(tmp_path: Path) -> Path:
    path = tmp_path / "no-genotype.yaml"
    path.write_text("model:\n  space: micro\n  init_channels: 16\n")
    return path


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (lambda tmp, run: ["Foo"], "unknown micro genotype 'Foo'; known: NSGANet, DARTS"),
        (lambda tmp, run: [_genome_text("macro", 1), "--space", "macro", "--n_nodes", "4"], "has 21 integers"),
        (lambda tmp, run: ["1,2,3"], "integers"),
        (lambda tmp, run: [str(tmp / "missing.yaml")], "config file not found"),
        (lambda tmp, run: [str(_no_genotype_config(tmp))], "no model.genotype"),
        (lambda tmp, run: ["micro-000000000000", "--run_dir", str(run[0])], "no architecture 'micro-000000000000'"),
        (lambda tmp, run: [run[1][0], "--run_dir", str(tmp)], "no search archive"),
        (lambda tmp, run: [run[1][0]], "looks like an archive key"),
    ],
    ids=["unknown-zoo", "genome-wrong-nodes", "short-genome", "missing-config", "config-without-genotype",
         "unknown-key", "not-a-run", "key-without-run-dir"],
)
def test_draw_bad_input_is_one_line_and_exit_2(cli, tmp_path, search_run, make_args, message) -> None:
    out = tmp_path / "out" / "never.png"
    code, stdout, stderr = cli("draw", *make_args(tmp_path, search_run), "-o", out)
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("nsga-lightning: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in stderr and stdout == ""
    assert not out.exists()


def test_draw_unknown_extension_lists_the_formats(cli, tmp_path) -> None:
    code, _, stderr = cli("draw", "NSGANet", "-o", tmp_path / "arch.jpg")
    assert code == 2
    assert stderr.strip() == (f"nsga-lightning: error: cannot write a figure to '{tmp_path / 'arch.jpg'}': "
                              "unknown extension; allowed: .png, .svg, .pdf")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NSGANet"], "the following arguments are required: output"),
        (["NSGANet", "-o", "x.png", "--space", "mezzo"], "invalid choice: 'mezzo' (choose from 'micro', 'macro')"),
        (["NSGANet", "-o", "x.png", "--n_blocks", "five"], 'Parser key "n_blocks"'),
        (["NSGANet", "-o", "x.png", "--colour", "red"], "unrecognized arguments: --colour red"),
    ],
    ids=["no-output", "bad-space", "bad-int", "unknown-option"],
)
def test_draw_usage_errors_are_one_line_and_exit_2(cli, args, message) -> None:
    code, stdout, stderr = cli("draw", *args)
    assert code == 2 and stdout == ""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nsga-lightning: error: ") and message in lines[0], stderr
