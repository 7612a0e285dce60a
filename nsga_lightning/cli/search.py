"""``nsga-lightning search``: one YAML (search, space, model, data, trainer, retrain blocks) -> a search run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser
from lightning.pytorch import LightningDataModule

from nsga_lightning.callbacks import DropPathSchedule
from nsga_lightning.module import ArchitectureModule
from nsga_lightning.search.settings import RetrainSettings, SearchSettings, SpaceSettings


def search_parser() -> ArgumentParser:
    """The parser of ``nsga-lightning search``: blocks search, space, model, data, trainer, retrain."""
    parser = ArgumentParser(prog="nsga-lightning search", exit_on_error=True,
                            description="Multi-objective architecture search (NSGA-Net) with Trainer.fit per "
                                        "candidate. Running it again on the same run_dir resumes.")
    parser.add_argument("--config", action=ActionConfigFile, help="a search config (YAML)")
    parser.add_class_arguments(SearchSettings, "search")
    parser.add_class_arguments(SpaceSettings, "space")
    # n_nodes comes from the space block (the genotype of every candidate carries it)
    parser.add_class_arguments(ArchitectureModule, "model", skip={"space", "genotype", "num_classes",
                                                                   "log_complexity", "n_nodes"})
    parser.add_subclass_arguments(LightningDataModule, "data", required=True)
    parser.add_argument("--trainer", type=dict[str, Any], default={"max_epochs": 20},
                        help="keyword arguments of each candidate's Trainer (max_epochs, precision, ...)")
    parser.add_class_arguments(RetrainSettings, "retrain")
    parser.add_argument("--progress_bar", type=bool, default=True, help="show the progress bar")
    parser.add_argument("--num_threads", type=int | None, default=None,
                        help="torch intra-op threads while a candidate trains (default: torch's setting)")
    return parser


def run_search(args: list[str]) -> int:
    """``nsga-lightning search``: run or resume a search; print the Pareto front."""
    from nsga_lightning.callbacks import ParetoOutputs, SearchProgressBar, SearchTensorBoard
    from nsga_lightning.search import SearchRunner, format_objective
    from nsga_lightning.search.trainer_evaluator import TrainerEvaluator

    parser = search_parser()
    config = parser.parse_args(args)
    data_block = config.data.as_dict()
    init = parser.instantiate_classes(config)
    settings, space_settings, retrain = init.search, init.space, init.retrain
    model_options = config.model.as_dict()
    space = space_settings.build()
    # the proxy's drop path ramps as in final training (the search package does not import callbacks)
    ramp = [DropPathSchedule()] if model_options.get("drop_path_prob", 0.0) > 0 else []
    evaluator = TrainerEvaluator(space.name, init.data, model=model_options, trainer=config.trainer,
                                 run_dir=settings.run_dir, callbacks=ramp, num_threads=config.num_threads)
    callbacks = [
        SearchProgressBar(disable=not config.progress_bar),
        SearchTensorBoard(settings.objectives, settings.reference_point),
        ParetoOutputs(settings.objectives, retrain, data_block, settings.reference_point),
    ]
    # missing data stops here with one clear line, before the run directory is created
    evaluator.prepare()
    # the runner checks its settings before it creates the run directory and its archive
    with SearchRunner(space, evaluator, settings.run_dir, pop_size=settings.pop_size,
                      n_offspring=settings.n_offspring, n_gens=settings.n_gens, seed=settings.seed,
                      objectives=settings.objectives, callbacks=callbacks) as runner:
        (Path(settings.run_dir) / "config.yaml").write_text(parser.dump(config, skip_none=False))
        try:
            result = runner.run()
        except KeyboardInterrupt:
            return 130  # the runner has logged the one line: what is saved and how to resume
        archived = len(runner.archive)
    print(f"{result.n_evaluated} architectures trained in this session, {archived} in the archive; "
          f"Pareto front ({len(result.pareto)}):")
    for row in result.pareto:
        values = "  ".join(f"{name} {format_objective(name, row.objectives[name]):>8}"
                           for name in settings.objectives)
        print(f"  {row.key}  {values}")
    print(f"outputs: {settings.run_dir}/pareto.csv, pareto.png, pareto/<key>.yaml "
          f"(retrain: nsga-lightning fit --config {settings.run_dir}/pareto/<key>.yaml)")
    return 0
