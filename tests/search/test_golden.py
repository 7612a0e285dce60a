"""Golden values of small searches: the run fingerprint and the whole archive of every search mode, pinned as
literals written by the code before the search package was split into parts (issue 20). A change of any pinned
value is a change of results: a stored run directory would no longer resume, or a seed would give another front.

Each case runs a small search with a deterministic function evaluator (no torch) and hashes a canonical JSON of
everything in its archive that must not change: every row (key, genome, genotype, generation, seed, status,
objectives, the last line of a failure, rung record), the commit order, every generation row (population, rank,
crowding, RNG state) and the pre-screen table. Timings and traceback paths are left out. Interrupted runs resume
to the same hash, 2-worker evaluators that answer out of order give the generational modes' hash, and a run
directory written (and interrupted) by the code before the split resumes to the pinned result.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from search_helpers import StopAfter

from nsga_lightning.search import (
    Archive,
    Candidate,
    Evaluation,
    Fidelity,
    Prescreen,
    SearchRunner,
    safe_evaluate,
)
from nsga_lightning.spaces import make_space

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "golden_run"


def objectives(candidate: Candidate) -> dict[str, float]:
    """Deterministic objectives of a genome; about one key in ten fails (raises), one in ten returns NaN.

    With rungs (``candidate.epochs``) the error falls with the epochs by a key-dependent amount, so ranks change
    between rungs.
    """
    bucket = int(hashlib.sha1(candidate.key.encode()).hexdigest(), 16) % 20
    if bucket in (0, 1):
        raise RuntimeError(f"golden failure for {candidate.key}")
    g = np.asarray(candidate.genome, dtype=float)
    weights = 1.0 + (np.arange(g.size) % 7)
    madds = int(1000 + (g * weights).sum() * 37)
    params = int(500 + (g * (1 + np.arange(g.size) % 3)).sum() * 11)
    error = 5.0 + 90.0 * math.exp(-(g * weights).sum() / (4.0 * g.size)) + 2.0 * math.sin(float((g * weights).sum()))
    if candidate.epochs is not None:
        error += 40 * (int(candidate.key[-2:], 16) / 255) / candidate.epochs
    if bucket == 2:
        error = float("nan")
    return {"error": error, "madds": madds, "params": params}


class GoldenEvaluator:
    """Evaluates a batch in order (``workers`` 1), or, with ``workers`` 2, answers each batch in reverse order as a
    parallel backend may; ``asynchronous`` adds one-at-a-time submissions completing out of order (smallest hash
    of key and epochs first)."""

    def __init__(self, workers: int = 1, asynchronous: bool = False) -> None:
        self.workers = workers
        self.flight: list[Candidate] = []
        if asynchronous:
            self.submit, self.next_completed, self.cancel = self._submit, self._next_completed, self.flight.clear

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": "golden", "version": 1}

    def evaluate(self, candidates: list[Candidate]) -> Iterator[Evaluation]:
        order = candidates if self.workers == 1 else list(reversed(candidates))
        for candidate in order:
            yield safe_evaluate(objectives, candidate)

    def _submit(self, candidate: Candidate) -> None:
        self.flight.append(candidate)

    def _next_completed(self) -> Evaluation:
        candidate = min(self.flight, key=lambda c: hashlib.sha1(f"{c.key}:{c.epochs}".encode()).hexdigest())
        self.flight.remove(candidate)
        return safe_evaluate(objectives, candidate)


def key_scorer(candidates: list[Candidate]) -> list[tuple[float | None, dict[str, float], str | None]]:
    """A zero-cost score and complexity from the key; one key in eleven has no score."""
    out = []
    for c in candidates:
        digest = int(hashlib.sha1(c.key.encode()).hexdigest(), 16)
        complexity = {"madds": float(1e6 + digest % 1000 * 1e3), "params": float(digest % 777)}
        out.append((None, complexity, "ValueError: no path") if digest % 11 == 0
                   else (float(digest % 997) / 10, complexity, None))
    return out


BASE = {"space": "micro", "pop_size": 8, "n_offspring": 4, "n_gens": 4, "seed": 3}
CASES: dict[str, dict[str, Any]] = {
    "default": {},
    "three_objectives": {"objectives": ("error", "madds", "params")},
    "macro": {"space": "macro"},
    "prior": {"space": "macro", "initialization": "prior"},
    "prior_micro": {"space": "micro5", "initialization": "prior", "initial_architectures": ["NSGANet", "AmoebaNet"]},
    "homogeneous": {"space": "macro", "crossover": "homogeneous"},
    "exploitation": {"exploitation_gens": 1},
    "fidelity": {"fidelity": Fidelity((1, 3, 9), 1 / 3), "n_offspring": 6, "n_gens": 3},
    "fidelity_async": {"fidelity": Fidelity((1, 3, 9), 1 / 3, asynchronous=True), "n_offspring": 6, "n_gens": 3,
                       "workers": 2, "asynchronous": True},
    "prescreen": {"prescreen": Prescreen("synflow", 3), "scorer": key_scorer},
    "steady_state": {"n_offspring": 1, "n_gens": 10},
    "steady_state_async": {"n_offspring": 1, "n_gens": 10, "workers": 2, "asynchronous": True},
}


def make(run_dir: Path, case: str, callbacks=(), **override: Any) -> SearchRunner:
    settings = {**BASE, **CASES[case], **override}
    space = {"micro": make_space("micro", n_blocks=2), "micro5": make_space("micro"),
             "macro": make_space("macro", n_nodes=4)}[settings.pop("space")]
    evaluator = GoldenEvaluator(settings.pop("workers", 1), settings.pop("asynchronous", False))
    return SearchRunner(space, evaluator, run_dir, callbacks=list(callbacks), **settings)


def content(run_dir: Path) -> dict[str, Any]:
    """Everything in the archive that must not change, and its sha256."""
    with Archive(run_dir) as archive:
        rows = [[r.key, r.genome, r.genotype, r.generation, r.seed, r.status, r.objectives,
                 (r.error_text or "").strip().splitlines()[-1:], r.fidelity] for r in archive.rows()]
        order = [r.key for r in archive.rows(order="completion")]
        generations = [[g.generation, g.population, g.rank, g.crowding, g.rng_state] for g in archive.generations()]
        screened = [[s.generation, s.key, s.score_name, s.score, s.objectives, s.selected, s.error_text]
                    for s in archive.screening()]
        fingerprint = archive.meta()["fingerprint"]
    def digest(value: Any) -> str:
        return hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    return {"fingerprint": fingerprint, "sha256": digest([rows, generations, screened]), "order": digest(order),
            "rows": len(rows), "failed": sum(r[5] == "failed" for r in rows), "generations": len(generations),
            "screened": len(screened)}


# case -> (fingerprint, sha256 of the rows, generations and screened rows, sha256 of the commit order, rows,
# failed rows, generations, screened rows)
GOLDEN: dict[str, tuple[str, str, str, int, int, int, int]] = {
    "default": ("cd91ab75dfe3685afb994cfba540d147ef7b0e9ff61395f85c0e504f26f1aceb",
        "fc49c359c2bc1bc76400e4242c5553147fbab5fdc3b619cdf31bd67d6b6ad0de",
        "0e3f8444373f2853c144a344231f316fd4b25491b26773403e8cf744c75d27a1", 20, 3, 4, 0),
    "three_objectives": ("a36bc63da66ef329bfc2dc447a245fd8cf8351e54946a7c408eaf2f4a3e70a0e",
        "9973c8f481de9dbd61de0c61805cde0813661607ffb6b3c95c3b00f62b328e78",
        "9949c6d8aeb0b6dd026b2f3ed30f31d24e17605b3e2c0e6f3f2636c000cfa5b4", 20, 2, 4, 0),
    "macro": ("612d0db5bb41ccb886d7890e14ebf5fc7230e075c87fab7cbe54b061edce2ed4",
        "20c819572210bee810c98071468668c26e63554feba6fa383469a832020604e6",
        "0ef93c020b4bb196cabc0084a77acf0440c8fc26ab05e3c17911e185ac721908", 20, 3, 4, 0),
    "prior": ("24a843f8e09ccb98d765702e8ba2aafbf386cebdaa9c6f8e2966bcfd530b7138",
        "8323571dcb544e6c5545c1bd3b14aaa9aa7fda73eb903257d2d4ab0eccfba92b",
        "f6de6876ceb62a05e307e07ecb8c1d7fb7f1305dd309b738854befcfe125075a", 20, 5, 4, 0),
    "prior_micro": ("036b5bcaf7aaa6b08eb84ea1e72a6c78eb37726cdc3df7fe51b8ff049eba1c6c",
        "c798f17bf29c9015af051153cc86ae3139b00ff43e301898a0702f03387b92db",
        "20948076fb67d5782f1a7a6441736b905a646f109b9251ccf77df6a67f569991", 20, 6, 4, 0),
    "homogeneous": ("221250f27ff0a81bc435a27011491b90128a89bb8e6fa08a89156a659612f0c8",
        "05cf46b2550e8d6a6b12d1aeb77692bd58bf720a1c8f549d0d4f432dde8d7475",
        "a7254ec9ba93912a9c4ec66e042e634651c918e2d6b201dcd0817dcbbeb0a2da", 20, 1, 4, 0),
    "exploitation": ("c438dc644dff3790349dfac3660f1f37eca0510ca5a9ba8e050b0d38ff3dd383",
        "0f255c5ec4a48dabafb2f874709ac461c1fa2c79e9ad078a1ca8a2c8b5f8bf5d",
        "b0c9fa9a05d748fb3d3717cc4b1572e057b014a8474e78c5347da744d8028ead", 20, 3, 4, 0),
    "fidelity": ("b14fc36820e691a563ca9f334f3f5a602b5dd470c8f4dd5d906e37556f3a5833",
        "7490be0c98af0d3494dd6cb9570b89e753af835497e73139bd326455e5fe1387",
        "98f9ce28a997d3d4be56c72d6d78d1d829b453cd77261ef64368df925123d082", 20, 2, 3, 0),
    "fidelity_async": ("2afea50464a123974eafc27a94dbe66b1f2181ad041fa73e4cdc53d3bbb2fd36",
        "4290c275fa7c6ad7b9d11339c95d68e23226d422c43c4feebf9edc72fa5c9665",
        "cf8260d57c14b7b644f6fd5e12b8b1463f59510ec8397d48a8d54247a1023573", 20, 2, 3, 0),
    "prescreen": ("11df280d0e54be9c2ed8a81c11d67e6d214d433860faa2244d270c4f731862bb",
        "63e116e81ed566d71db75cf5f44706a5182ea83faea56f0ecb629e44648dd365",
        "04f0e3b4bf067378afe34415113dba5478f7c66495556c61a9790367301594d7", 20, 5, 4, 36),
    "steady_state": ("3d1f6160db73c5b62bb06d89341faf40380477c179c975fa7523790db43da3f4",
        "85d5e71cdd477a3cfff268b0fa04b0a5c4ac55511a1f7b14f64ddd9a43897908",
        "8ab1b1088f3fa82033fed8b753be69d3fb980b7c6ec9d0085b19f96a448f137b", 17, 3, 10, 0),
    "steady_state_async": ("75813970d724e17baa84779c28e00ac5c5e250b1d675d77e94879371c4c608d6",
        "e01a53c2475c98af7ff395fd8b3f8f1ca06856686aaf1f4a5ffb02adb3e88178",
        "19c91e2fe11eed0b3e5ffb4fa6ea28ad5793b9c3af67fec6884bbb1a14b74ed5", 17, 3, 10, 0),
}

# candidates committed before the interrupt, per case resumed
INTERRUPT_AFTER = {"default": 11, "fidelity": 13, "fidelity_async": 12, "prescreen": 10, "steady_state_async": 12}


def _pinned(case: str) -> dict[str, Any]:
    names = ("fingerprint", "sha256", "order", "rows", "failed", "generations", "screened")
    return dict(zip(names, GOLDEN[case]))


@pytest.mark.parametrize("case", list(CASES))
def test_every_mode_gives_its_pinned_fingerprint_and_archive(tmp_path: Path, case: str) -> None:
    with make(tmp_path / "run", case) as runner:
        fingerprint = runner.archive.meta()["fingerprint"]
        result = runner.run()
    assert result.status == "completed"
    found = content(tmp_path / "run")
    assert found["fingerprint"] == fingerprint
    assert found == _pinned(case)


@pytest.mark.parametrize("case", list(INTERRUPT_AFTER))
def test_an_interrupted_search_resumes_to_the_pinned_archive(tmp_path: Path, case: str) -> None:
    stop = StopAfter(INTERRUPT_AFTER[case])
    with make(tmp_path / "run", case, callbacks=[stop]) as runner, pytest.raises(KeyboardInterrupt):
        runner.run()
    with make(tmp_path / "run", case) as runner:
        assert runner.run().status == "completed"
    assert content(tmp_path / "run") == _pinned(case)


@pytest.mark.parametrize("case", ["default", "exploitation", "fidelity", "prescreen"])
def test_two_workers_answering_out_of_order_give_the_one_worker_archive(tmp_path: Path, case: str) -> None:
    with make(tmp_path / "run", case, workers=2) as runner:
        runner.run()
    found, pinned = content(tmp_path / "run"), _pinned(case)
    assert found["order"] != pinned["order"]  # the results did arrive in another order
    assert {**found, "order": None} == {**pinned, "order": None}


def test_a_run_directory_written_before_the_split_resumes_to_the_pinned_archive(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "run")
    with Archive(tmp_path / "run") as archive:  # interrupted in generation 1: a part of its children committed
        assert archive.meta()["fingerprint"] == _pinned("default")["fingerprint"]
        assert archive.last_generation().generation == 0 and len(archive) == INTERRUPT_AFTER["default"]
    with make(tmp_path / "run", "default") as runner:
        assert runner.run().status == "completed"
    assert content(tmp_path / "run") == _pinned("default")


# the front of the default case, readable: (key, error, madds), floats exact
DEFAULT_FRONT = [
    ("micro-15ac3131b2ad", 8.44822179092735, 7697), ("micro-617408c28e94", 17.27616350636669, 5366),
    ("micro-7e957d742ab7", 20.722515587626766, 4922), ("micro-80b5afe8deab", 13.697290945644392, 6069),
    ("micro-8bea0d6734c6", 11.241330141738787, 6735), ("micro-aa0293a9a3c5", 22.852293561379284, 4700),
    ("micro-eef85b6bd573", 10.203455083053733, 6994), ("micro-fbd7250a305a", 15.974355345352436, 5588),
]


def test_the_default_front_is_pinned_readably(tmp_path: Path) -> None:
    with make(tmp_path / "run", "default") as runner:
        result = runner.run()
    front = sorted((r.key, r.objectives["error"], r.objectives["madds"]) for r in result.pareto)
    assert front == DEFAULT_FRONT
