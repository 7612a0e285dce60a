"""The space protocol: the built-in spaces' fingerprint blocks and stored genotypes, a space built from a config
block (a name or a class_path), and one-line refusals of what is not a space."""

from __future__ import annotations

import numpy as np
import pytest

from nsga_lightning.spaces import (
    MacroSpace,
    MicroSpace,
    check_space,
    make_space,
    space_block,
    space_from_block,
)


def test_the_built_in_blocks_are_the_ones_every_run_fingerprint_holds() -> None:
    micro = space_block(MicroSpace(2))
    assert micro == {"name": "micro", "n_var": 16, "lower": [0] * 16,
                     "upper": [8, 1, 8, 1, 8, 2, 8, 2] * 2, "n_blocks": 2}
    assert space_block(MacroSpace(4)) == {"name": "macro", "n_var": 21, "lower": [0] * 21, "upper": [1] * 21,
                                          "n_nodes": 4}
    assert all(type(v) is int for v in micro["upper"])  # plain JSON numbers, no numpy scalars


@pytest.mark.parametrize("space", [MicroSpace(), MicroSpace(3), MacroSpace(), MacroSpace(4)],
                         ids=lambda space: f"{type(space).__name__}-{space.n_var}")
def test_a_built_in_genotype_comes_back_from_its_stored_data(space) -> None:
    for genome in space.sample(np.random.default_rng(0), 20):
        genotype = space.decode(genome)
        assert space.genotype_from_data(space.genotype_to_data(genotype)) == genotype
    with pytest.raises(TypeError, match="not a"):
        space.genotype_to_data(("conv",))
    with pytest.raises(ValueError, match="stored"):
        space.genotype_from_data(["conv"])


def test_a_macro_genotype_of_another_size_is_refused() -> None:
    data = MacroSpace(4).genotype_to_data(MacroSpace(4).decode([1] * 21))
    with pytest.raises(ValueError, match="this space has 6 nodes per phase, the stored genotype 4"):
        MacroSpace(6).genotype_from_data(data)


class Tiny:
    """The smallest space: two genes in 0..2, the genotype is the genome as a tuple."""

    name, n_var = "tiny", 2
    lower, upper = np.zeros(2, dtype=int), np.full(2, 2)

    def __init__(self, scale: int = 1) -> None:
        self.scale = scale

    def sample(self, rng, n):
        return rng.integers(0, 3, size=(n, 2))

    def validate(self, genome):
        return np.asarray(genome, dtype=int)

    def decode(self, genome):
        return tuple(int(g) for g in genome)

    def key(self, genome):
        return f"tiny-{genome[0]}{genome[1]}"

    def genotype_to_data(self, genotype):
        return list(genotype)

    def genotype_from_data(self, data):
        return tuple(data)


def test_a_block_builds_a_built_in_space_or_any_class() -> None:
    assert space_from_block({"name": "macro", "n_nodes": 4}).n_var == make_space("macro", n_nodes=4).n_var
    tiny = space_from_block({"class_path": f"{__name__}.Tiny", "init_args": {"scale": 3}})
    assert isinstance(tiny, Tiny) and tiny.scale == 3
    assert space_block(tiny) == {"name": "tiny", "n_var": 2, "lower": [0, 0], "upper": [2, 2],
                                 "class_path": f"{__name__}.Tiny"}


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"name": "mikro"}, "unknown search space 'mikro'; choose one of: micro, macro"),
        ({"name": "micro", "init_args": {"n_blocks": 3}}, "space.init_args go with a class_path"),
        ({"name": "micro", "n_block": 3}, "unknown option space.n_block; did you mean n_blocks?"),
        ({"class_path": f"{__name__}.Tiny", "init_args": {"scal": 2}}, "unknown option space.init_args.scal"),
        ({"class_path": f"{__name__}.Tiny", "name": "tiny"}, "unknown option space.name"),
        ({"class_path": "collections.Counter"}, "a Counter is not a search space: it lacks name, lower, upper"),
    ],
)
def test_a_bad_block_is_one_line(block, message) -> None:
    with pytest.raises(ValueError, match=message.replace("?", r"\?")) as error:
        space_from_block(block)
    assert "\n" not in str(error.value)


def test_check_space_names_every_missing_member() -> None:
    with pytest.raises(ValueError, match="lacks genotype_to_data, genotype_from_data"):
        check_space(type("Old", (), {name: None for name in ("name", "lower", "upper", "n_var", "sample",
                                                              "validate", "decode", "key")})())
    assert check_space(Tiny()) is not None
