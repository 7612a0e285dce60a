"""Architecture drawings: every zoo genotype and seeded random genomes, in every format, legible."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
from matplotlib.figure import Figure

from nsga_lightning.spaces import MACRO_ZOO, MICRO_ZOO, MacroGenotype, MacroSpace, MicroGenotype, MicroSpace
from nsga_lightning.viz import FORMATS, draw_genotype, figure_for_genotype, short_op_name


def random_micro(seed: int) -> MicroGenotype:
    space = MicroSpace()
    return space.decode(space.sample(np.random.default_rng(seed), 1)[0])


def random_macro(seed: int, n_nodes: int = 6, vanish: tuple[int, ...] = ()) -> MacroGenotype:
    """A seeded random macro genotype; the phases (0-based) in ``vanish`` get all connection bits 0."""
    space = MacroSpace(n_nodes)
    bits = space.sample(np.random.default_rng(seed), 1)[0]
    per_phase = n_nodes * (n_nodes - 1) // 2 + 1
    for phase in vanish:
        bits[phase * per_phase:(phase + 1) * per_phase - 1] = 0
    return space.decode(bits)


CASES: dict[str, MicroGenotype | MacroGenotype] = {
    **{f"micro-zoo-{name}": g for name, g in MICRO_ZOO.items()},
    **{f"macro-zoo-{name}": g for name, g in MACRO_ZOO.items()},
    **{f"micro-random-{seed}": random_micro(seed) for seed in (0, 1, 2)},
    **{f"macro-random-{seed}": random_macro(seed) for seed in (0, 1)},
    "macro-random-4nodes": random_macro(3, n_nodes=4),
    "macro-phase2-vanished": random_macro(4, vanish=(1,)),
    "macro-all-vanished": random_macro(5, vanish=(0, 1, 2)),
}


def test_vanished_cases_really_vanish() -> None:
    assert CASES["macro-phase2-vanished"].phases[1] is None
    assert CASES["macro-phase2-vanished"].phases[0] is not None
    assert CASES["macro-all-vanished"].active_phases == ()


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_draw_every_format(name: str, fmt: str, tmp_path, check_image) -> None:
    out = draw_genotype(CASES[name], tmp_path / "nested" / f"{name}.{fmt}", title=name)
    assert out.exists()
    check_image(out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_no_overlapping_labels(name: str, collisions) -> None:
    figure = figure_for_genotype(CASES[name], title=name)
    assert isinstance(figure, Figure)
    problems = collisions(figure)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(MICRO_ZOO))
def test_micro_drawing_shows_every_unit(name: str) -> None:
    genotype = MICRO_ZOO[name]
    figure = figure_for_genotype(genotype)
    texts = [t for t in figure.findobj(lambda a: hasattr(a, "get_gid") and hasattr(a, "get_text"))]
    edge_labels = Counter(t.get_text() for t in texts if (t.get_gid() or "").startswith("edge-label:"))
    expected = Counter(short_op_name(op) for op, _ in genotype.normal + genotype.reduce)
    assert edge_labels == expected
    node_labels = Counter(t.get_text() for t in texts if (t.get_gid() or "").startswith("node-label:"))
    blocks = genotype.n_blocks + len(genotype.reduce) // 2
    assert node_labels == Counter({"+": blocks, "h[i-1]": 2, "h[i]": 2, "concat": 2, "h[i+1]": 2})


def test_macro_drawing_shows_active_phases_only() -> None:
    genotype = CASES["macro-phase2-vanished"]
    figure = figure_for_genotype(genotype)
    texts = {t.get_gid(): t.get_text() for t in figure.texts + [t for ax in figure.axes for t in ax.texts]}
    captions = [v for k, v in texts.items() if k and k.startswith("cluster-label:")]
    assert sorted(captions) == ["phase 1", "phase 3"]
    assert "phase 2 vanished" in texts["caption"]
    labels = [v for k, v in texts.items() if k and k.startswith("node-label:")]
    assert labels.count("max pool 2x2") == 1 and "global avg pool" in labels and "linear" in labels
    computation = sum(len(p.active_nodes) for p in genotype.active_phases)
    assert sum(label.isdigit() and label != "0" for label in labels) == computation


def test_macro_zoo_edges_follow_the_repaired_graph() -> None:
    genotype = MACRO_ZOO["NSGANet"]
    figure = figure_for_genotype(genotype)
    edges = [a for a in figure.findobj() if (a.get_gid() or "").startswith("edge:")]
    connections = sum(len(preds) for p in genotype.active_phases for preds in p.inputs if preds)
    outputs = sum(len(p.output) for p in genotype.active_phases)
    # + input->entry, pool->entry (x2), out->gap, gap->linear
    assert len(edges) == connections + outputs + 5
    connectors = [a for a in figure.findobj() if (a.get_gid() or "").startswith("connector:")]
    assert len(connectors) == 2


@pytest.mark.parametrize("bad", ["arch.jpg", "arch", "arch.png.txt"])
def test_bad_extension_lists_allowed(bad: str, tmp_path) -> None:
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
        draw_genotype(MICRO_ZOO["NSGANet"], tmp_path / bad)
    assert not any(tmp_path.iterdir())


def test_unknown_genotype_kind() -> None:
    with pytest.raises(ValueError, match="MicroGenotype or a MacroGenotype"):
        figure_for_genotype([1, 2, 3])  # type: ignore[arg-type]


def test_viz_imports_neither_torch_pymoo_nor_pyplot() -> None:
    code = (
        "import sys, nsga_lightning.viz; "
        "bad = [m for m in ('torch', 'pymoo', 'matplotlib.pyplot', 'lightning') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", [n for n in CASES if n.startswith("macro")])
def test_the_macro_caption_explains_dashed_edges_only_where_one_is_drawn(name: str) -> None:
    figure = figure_for_genotype(CASES[name])
    edges = [a for a in figure.findobj() if (a.get_gid() or "").startswith("edge:")]
    dashed = [a for a in edges if a.get_linestyle() not in ("-", "solid")]
    caption = next(t.get_text() for t in figure.texts + [t for ax in figure.axes for t in ax.texts]
                   if t.get_gid() == "caption")
    assert ("dashed = skip bit" in caption) == bool(dashed), (caption, len(dashed))
