"""NAS-Bench-Graph (Qin et al., NeurIPS 2022 Datasets and Benchmarks) as a space and a tabular evaluator.

The benchmark trained every graph neural network of a small cell space on nine node-classification datasets and
published, per architecture, the validation and test accuracy, the inference latency and the parameter count. Its
package (``pip install "nsga-lightning[benchmarks]"``: ``nas-bench-graph``, Apache-2.0) ships the tables; nothing
is trained here, so a whole search takes seconds and its result can be compared with the table's true front.

* Genome: 5 categories: the link structure (one of the benchmark's 9 canonical ways four operations read from
  the input and from each other) and the 4 operations (9 graph operations, 5 for ``proteins``). Every position is
  a category (:attr:`NASBenchGraphSpace.categorical`).
* Key: the benchmark's own isomorphism hash (its ``Arch.valid_hash``): the 59,049 genomes (5,625 for proteins)
  are 26,206 architectures of the table (2,021 for proteins) plus the network of skip connections only, which the
  benchmark did not train; the evaluator fails it with one line.
* Objectives (:class:`NASBenchGraphEvaluator`): ``error``, 100 x (1 - validation accuracy) in %; ``latency``, the
  measured inference latency in milliseconds; ``params``, the parameter count. The test accuracy is never
  returned (selection on the test set is what this benchmark exists to avoid); :func:`load_table` has it for
  reporting.

The package is imported only when a space, evaluator or table is made; without it they raise one line naming the
extra.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nsga_lightning.search.core.evaluator import Candidate, Evaluation, safe_evaluate
from nsga_lightning.spaces.genome import as_int_genome, check_bounds

__all__ = ["DATASETS", "LINKS", "OBJECTIVES", "GraphArchitecture", "NASBenchGraphEvaluator", "NASBenchGraphSpace",
           "Table", "load_table"]

DATASETS = ("arxiv", "citeseer", "computers", "cora", "cs", "photo", "physics", "proteins", "pubmed")
OBJECTIVES = ("error", "latency", "params")
INSTALL_HINT = ('NAS-Bench-Graph is not installed: pip install -e ".[benchmarks]" (or "nsga-lightning[benchmarks]"), '
                "which brings the nas-bench-graph package and its tables")
# the benchmark's canonical link structures (architecture.link_list): operation i reads the input (0) or operation
# LINKS[s][i] (1-based); the canonicalisation maps every other wiring onto one of these
LINKS = ((0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3), (0, 1, 1, 1), (0, 1, 1, 2),
         (0, 1, 2, 2), (0, 1, 2, 3))
SKIP_ONLY = "skip connections only"


def _module() -> Any:
    """The ``nas_bench_graph`` package.

    Raises:
        ValueError: naming the extra to install when it is missing.
    """
    try:
        import nas_bench_graph
        import nas_bench_graph.architecture
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    return nas_bench_graph


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        raise ValueError(f"unknown NAS-Bench-Graph dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    return dataset


def operations(dataset: str) -> tuple[str, ...]:
    """The operations of a dataset's table (its own shorter list for ``proteins``)."""
    architecture = _module().architecture
    return tuple(architecture.gnn_list_proteins if _check_dataset(dataset) == "proteins" else architecture.gnn_list)


@functools.cache
def canonical_hash(link: tuple[int, ...], ops: tuple[str, ...]) -> int:
    """The benchmark's isomorphism hash of an architecture (``Arch(link, ops).valid_hash()``): equal for the
    wirings that compute the same function, the table's key."""
    return int(_module().architecture.Arch(list(link), list(ops)).valid_hash())


@dataclass(frozen=True)
class GraphArchitecture:
    """One architecture of a NAS-Bench-Graph table: what an evaluator receives as ``candidate.genotype``.

    Attributes:
        dataset: the table it belongs to.
        link: for each of the four operations, what it reads: 0 the input, ``k`` the output of operation ``k``.
        ops: the four operation names.
    """

    dataset: str
    link: tuple[int, ...]
    ops: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (as the archive stores it)."""
        return {"dataset": self.dataset, "link": list(self.link), "ops": list(self.ops)}

    @property
    def key(self) -> int:
        """The benchmark's hash of this architecture."""
        return canonical_hash(self.link, self.ops)


class NASBenchGraphSpace:
    """The NAS-Bench-Graph cell space of one dataset: a link structure and four operations, all categories.

    Args:
        dataset: one of :data:`DATASETS` (``proteins`` has its own five operations).

    Raises:
        ValueError: for an unknown dataset, or when the benchmark package is not installed (naming the extra).
    """

    name = "nas-bench-graph"

    def __init__(self, dataset: str = "cora") -> None:
        self.dataset = _check_dataset(dataset)
        self.operations = operations(dataset)
        self.lower = np.zeros(5, dtype=np.int64)
        self.upper = np.array([len(LINKS) - 1] + [len(self.operations) - 1] * 4, dtype=np.int64)
        self.categorical = np.ones(5, dtype=bool)  # a link structure and operations: no order between values
        self._keys: dict[tuple[int, ...], str] = {}

    @property
    def n_var(self) -> int:
        """Genome length: the link structure and four operations."""
        return 5

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` uniform genomes."""
        return rng.integers(self.lower, self.upper + 1, size=(n, self.n_var))

    def validate(self, genome: Sequence[int] | np.ndarray) -> np.ndarray:
        """The genome as an int64 array.

        Raises:
            ValueError: for a wrong length or a value outside its position's range.
        """
        array = as_int_genome(genome, self.n_var, self.name)
        check_bounds(array, self.lower, self.upper, lambda i: "link structure" if i == 0 else f"operation {i}")
        return array

    def decode(self, genome: Sequence[int] | np.ndarray) -> GraphArchitecture:
        """The architecture of a genome."""
        g = self.validate(genome)
        return GraphArchitecture(self.dataset, LINKS[int(g[0])], tuple(self.operations[int(i)] for i in g[1:]))

    def key(self, genome: Sequence[int] | np.ndarray) -> str:
        """The benchmark's isomorphism hash, as text (remembered per genome)."""
        try:
            found = self._keys.get(tuple(int(g) for g in genome))
        except (TypeError, ValueError):  # not integers: validate says what is wrong
            found = None
        if found is None:
            g = self.validate(genome).tolist()
            found = self._keys[tuple(g)] = str(canonical_hash(LINKS[g[0]], tuple(self.operations[i] for i in g[1:])))
        return found

    def genotype_to_data(self, genotype: GraphArchitecture) -> dict[str, Any]:
        """The architecture as plain data."""
        if not isinstance(genotype, GraphArchitecture):
            raise TypeError(f"not a GraphArchitecture: {type(genotype).__name__}")
        return genotype.to_dict()

    def genotype_from_data(self, data: Any) -> GraphArchitecture:
        """The architecture back from :meth:`genotype_to_data`'s data.

        Raises:
            ValueError: for data that is not an architecture of this space.
        """
        try:
            link, ops = tuple(int(i) for i in data["link"]), tuple(str(op) for op in data["ops"])
            dataset = str(data["dataset"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"not a {self.name} architecture: {data!r}") from None
        if dataset != self.dataset or link not in LINKS or len(ops) != 4 or set(ops) - set(self.operations):
            raise ValueError(f"not a {self.name} architecture of {self.dataset}: {data!r}")
        return GraphArchitecture(dataset, link, ops)

    def describe(self) -> dict[str, Any]:
        """The space's fingerprint block."""
        return {"name": self.name, "dataset": self.dataset, "links": [list(link) for link in LINKS],
                "operations": list(self.operations), "categorical": self.categorical.tolist(),
                "key": "nas_bench_graph Arch.valid_hash"}


@dataclass(frozen=True)
class Table:
    """A dataset's table as arrays, one entry per architecture (in the order of its keys).

    Attributes:
        dataset: the dataset.
        keys: the benchmark's hashes.
        error: validation error in % (100 x (1 - validation accuracy)).
        latency: inference latency in milliseconds.
        params: parameter count.
        test_error: test error in % (for reporting only; never a search objective).
    """

    dataset: str
    keys: np.ndarray
    error: np.ndarray
    latency: np.ndarray
    params: np.ndarray
    test_error: np.ndarray

    def objectives(self, names: Sequence[str]) -> np.ndarray:
        """The named objectives of every architecture, ``(n, len(names))``."""
        unknown = [n for n in names if n not in OBJECTIVES]
        if unknown:
            raise ValueError(f"unknown NAS-Bench-Graph objective(s) {unknown}; choose from {', '.join(OBJECTIVES)}")
        return np.column_stack([getattr(self, name) for name in names])

    @functools.cached_property
    def index(self) -> dict[int, int]:
        """Row of each key."""
        return {int(k): i for i, k in enumerate(self.keys)}


@functools.cache
def load_table(dataset: str) -> Table:
    """A dataset's table (read once per process).

    Raises:
        ValueError: for an unknown dataset, or when the benchmark package is not installed.
    """
    raw = _module().light_read(_check_dataset(dataset))
    keys = np.array(sorted(raw), dtype=np.int64)
    columns = np.array([[raw[k]["valid_perf"], raw[k]["latency"], raw[k]["para"], raw[k]["perf"]] for k in keys],
                       dtype=float)
    # valid_perf and perf are accuracies in [0, 1], latency seconds, para millions of parameters
    return Table(dataset, keys, 100.0 * (1.0 - columns[:, 0]), 1000.0 * columns[:, 1], 1e6 * columns[:, 2],
                 100.0 * (1.0 - columns[:, 3]))


class NASBenchGraphEvaluator:
    """Looks every candidate up in its dataset's table (the dataset is the architecture's, i.e. the space's).

    Returns ``error`` (validation, %), ``latency`` (ms) and ``params``; the search minimises any 2 or 3 of them. The
    network of skip connections only, which the benchmark never trained, fails with one line. Picklable (each worker
    reads the tables itself).
    """

    objective_names = OBJECTIVES

    def fingerprint(self) -> dict[str, Any]:
        """What changes its results: the benchmark package's version and the objectives' definitions."""
        from importlib.metadata import PackageNotFoundError, version

        _module()
        try:
            installed = version("nas-bench-graph")
        except PackageNotFoundError:  # an unpacked copy on the path: its own version string
            installed = str(getattr(_module(), "__version__", "unknown"))
        return {"class_path": f"{type(self).__module__}.{type(self).__qualname__}", "nas-bench-graph": installed,
                "error": "100 x (1 - valid_perf)", "latency": "ms", "params": "count"}

    def prepare(self) -> None:
        """Fail now, in one line, when the benchmark package is missing."""
        _module()

    def values(self, genotype: GraphArchitecture) -> dict[str, float]:
        """All three objectives of an architecture.

        Raises:
            ValueError: for the network of skip connections only, or an architecture missing from the table.
        """
        if not isinstance(genotype, GraphArchitecture):
            raise TypeError(f"NAS-Bench-Graph evaluates GraphArchitecture genotypes, got {type(genotype).__name__}")
        table = load_table(genotype.dataset)
        row = table.index.get(genotype.key)
        if row is None:
            if set(genotype.ops) == {"skip"}:
                raise ValueError(f"the network of {SKIP_ONLY} is not in NAS-Bench-Graph (it has no graph operation)")
            raise ValueError(f"{genotype} is not in the {genotype.dataset} table (hash {genotype.key})")
        return {"error": float(table.error[row]), "latency": float(table.latency[row]),
                "params": float(table.params[row])}

    def evaluate(self, candidates: Iterable[Candidate]) -> Iterable[Evaluation]:
        """One table look-up per candidate, in order."""
        for candidate in candidates:
            yield safe_evaluate(lambda c: self.values(c.genotype), candidate)

    def complexity(self, candidates: Sequence[Candidate]) -> list[dict[str, float]]:
        """Latency and parameters without training (the surrogate's exact objectives): the table's measurements."""
        out = []
        for candidate in candidates:
            try:
                values = self.values(candidate.genotype)
            except ValueError:  # the network of skip connections only was never measured: ranked as the table's
                table = load_table(candidate.genotype.dataset)  # slowest and largest, so it is never preferred
                values = {"latency": float(table.latency.max()), "params": float(table.params.max())}
            out.append({"latency": values["latency"], "params": values["params"]})
        return out
