"""Duplicate elimination by canonical key: a child is dropped when its key repeats another child's, a parent's or
one of an excluded set (the archive of every evaluated architecture), so that no architecture is trained twice; a child
over a limit known before training (``limits.py``) is dropped the same way, so that mating goes on."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
from pymoo.core.duplicate import DuplicateElimination
from pymoo.core.population import Population

from nsga_lightning.spaces import SearchSpace

Admit = Callable[[Sequence[Sequence[int]], Sequence[str]], np.ndarray]  # genomes, keys -> mask of children allowed


class KeyDuplicateElimination(DuplicateElimination):
    """Drops offspring whose canonical key repeats another offspring, a parent or an excluded key, and those
    ``admit`` refuses (``None``: none)."""

    def __init__(self, space: SearchSpace, excluded: Iterable[str] = (), admit: Admit | None = None) -> None:
        super().__init__()
        self.space = space
        self.excluded = set(excluded)
        self.admit = admit

    def keys(self, pop: Population) -> list[str]:
        """Canonical keys of ``pop``, computed once and cached on each individual."""
        out = []
        for ind in pop:
            key = ind.get("key")
            if key is None:
                key = self.space.key(np.asarray(ind.X).astype(np.int64))
                ind.set("key", key)
            out.append(key)
        return out

    def _do(self, pop: Population, other: Population | None, is_duplicate: np.ndarray) -> np.ndarray:
        keys = self.keys(pop)
        if other is None:  # against itself and the excluded set: keep first occurrences
            seen = set(self.excluded)
            for i, key in enumerate(keys):
                is_duplicate[i] |= key in seen
                seen.add(key)
            new = np.flatnonzero(~is_duplicate)
            if self.admit is not None and len(new):
                allowed = self.admit([np.asarray(pop[i].X).astype(np.int64) for i in new], [keys[i] for i in new])
                is_duplicate[new[~np.asarray(allowed, dtype=bool)]] = True
        else:
            taken = set(self.keys(other))
            is_duplicate |= np.array([key in taken for key in keys], dtype=bool)
        return is_duplicate
