"""Published tabular benchmarks as spaces and evaluators (optional extra ``benchmarks``): a search over a table
takes seconds and its front can be compared with the table's true front."""

from nsga_lightning.benchmarks.nasbench_graph import (
    DATASETS,
    GraphArchitecture,
    NASBenchGraphEvaluator,
    NASBenchGraphSpace,
    load_table,
)

__all__ = ["DATASETS", "GraphArchitecture", "NASBenchGraphEvaluator", "NASBenchGraphSpace", "load_table"]
