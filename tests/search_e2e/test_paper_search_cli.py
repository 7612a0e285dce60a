"""``nsga-lightning search`` with the paper's operators on real (tiny) training: the prior's architectures are
trained in generation 0 and the run's stored settings say which operators made it."""

from __future__ import annotations

from e2e_helpers import POP_SIZE, run_cli, write_search

from nsga_lightning.search import Archive
from nsga_lightning.spaces import MICRO_ZOO, make_space


def test_a_micro_search_starts_from_the_published_cells(tmp_path, monkeypatch, one_intra_op_thread):
    monkeypatch.chdir(tmp_path)
    config = write_search(tmp_path, "micro")
    done = run_cli("search", "--config", str(config), "--search.initialization", "prior",
                   "--search.crossover", "homogeneous", "--search.initial_architectures", "[ENAS]")
    assert done.code == 0, done.err
    space = make_space("micro")
    expected = [space.key(space.encode(MICRO_ZOO[name])) for name in ("ENAS", "NSGANet", "NASNet", "AmoebaNet")]
    with Archive(tmp_path / "run") as archive:
        first = archive.generations()[0]
        stored = archive.config()["operators"]
        rows = {r.key: r for r in archive.rows()}
    assert sorted(first.population) == sorted(expected[:POP_SIZE])
    assert all(rows[key].status == "ok" and rows[key].generation == 0 for key in expected[:POP_SIZE])
    assert stored["crossover"]["class"] == "HomogeneousCrossover"
    assert stored["initialization"] == {"mode": "prior", "architectures": [expected[0]]}
