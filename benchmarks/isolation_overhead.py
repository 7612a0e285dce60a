"""What running candidates in a worker process (``search.isolation``, the default of a single-worker search since
issue 29) costs against training them in the search's own process, side by side.

Runs the quickstart preset (``--gens`` generations; 1 intra-op thread) with ``search.isolation: none`` and
``process``, alternating which goes first over ``--rounds`` rounds, each in a fresh run directory, and reports:

* the wall time of each search (median over rounds) and their ratio;
* the worker's start-up, paid once per search (spawning it, importing torch and Lightning, building the datamodule);
* the cost per candidate: the driver's time from sending a candidate to receiving its result, minus the time the
  worker itself measured for that candidate (pickling, the pipe, the driver's wake-up);
* whether both modes gave the same archive (they must: isolation never changes results).

``python benchmarks/isolation_overhead.py`` (about 8 minutes on 2 idle cores with the defaults). The last line printed
is ``isolated_over_in_process=<median wall ratio>``.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "search"))

from search_helpers import snapshot

from nsga_lightning.cli.presets import preset_path
from nsga_lightning.search.build import build_search


def run(folder: Path, isolation: str, gens: int) -> tuple[float, list[float], float, dict]:
    """One quickstart search: wall seconds, the worker's start-ups, the per-candidate cost (driver minus worker time,
    mean) and the archive snapshot."""
    import yaml

    config = yaml.safe_load(preset_path("quickstart").read_text())
    config["search"].update({"run_dir": str(folder / isolation), "n_gens": gens, "isolation": isolation})
    config["progress_bar"] = False
    start = time.perf_counter()
    with build_search(config) as runner:
        runner.run()
        evaluator = runner.execution.evaluator
        rows = runner.archive.rows()
        startups = list(getattr(evaluator, "startup_seconds", []))
        driver = getattr(evaluator, "busy_seconds", None)
    wall = time.perf_counter() - start
    per_candidate = (driver - sum(r.seconds for r in rows)) / len(rows) if driver is not None else 0.0
    return wall, startups, per_candidate, snapshot(folder / isolation)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gens", type=int, default=4, help="quickstart generations (4: its 15 candidates)")
    args = parser.parse_args()
    logging.getLogger("lightning").setLevel(logging.ERROR)
    logging.getLogger("nsga_lightning").setLevel(logging.ERROR)
    walls: dict[str, list[float]] = {"none": [], "process": []}
    startups: list[float] = []
    per_candidate: list[float] = []
    same = True
    for round_index in range(args.rounds):
        order = ("none", "process") if round_index % 2 == 0 else ("process", "none")
        with tempfile.TemporaryDirectory() as folder:
            snaps = {}
            for isolation in order:
                wall, started, cost, snaps[isolation] = run(Path(folder), isolation, args.gens)
                walls[isolation].append(wall)
                if isolation == "process":
                    startups += started
                    per_candidate.append(cost)
                print(f"round {round_index}: isolation {isolation:<7} {wall:6.1f} s", flush=True)
            same = same and snaps["none"]["rows"] == snaps["process"]["rows"]
    median = {mode: statistics.median(values) for mode, values in walls.items()}
    print(f"quickstart, {args.gens} generations, {args.rounds} rounds (alternating order)")
    print(f"in this process   : median wall {median['none']:.1f} s")
    print(f"one worker process: median wall {median['process']:.1f} s; worker start-up "
          f"{statistics.median(startups):.2f} s (once per search); per candidate "
          f"{1000 * statistics.median(per_candidate):.1f} ms beyond the worker's own time")
    print(f"same archive in both modes: {'yes' if same else 'NO'}")
    print(f"isolated_over_in_process={median['process'] / median['none']:.3f}")


if __name__ == "__main__":
    main()
