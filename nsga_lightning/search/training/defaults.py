"""Defaults of the candidates' training (no torch: the settings read them too)."""

from __future__ import annotations

from typing import Any

# Each candidate's Trainer options unless the trainer block sets them (the one place they are written).
CANDIDATE_TRAINER_DEFAULTS: dict[str, Any] = {"max_epochs": 20, "accelerator": "auto", "gradient_clip_val": 5.0}
# ArchitectureModule arguments the search sets itself (the rest are the proxy's model options).
SEARCH_SETS = ("space", "genotype", "num_classes", "image_size", "in_channels", "log_complexity")
# The input of every run before the stem and in_channels options (MAdds were counted at 3x32x32 whatever the
# data): a run with it keeps its fingerprint, any other records its input (and cannot resume an older run).
LEGACY_INPUT = {"in_channels": 3, "image_size": 32, "stem": "cifar"}
# Trainer options the evaluator owns: one candidate is one quiet, single-process, checkpoint-free fit.
OWNED_TRAINER_OPTIONS = ("logger", "callbacks", "enable_checkpointing", "enable_progress_bar", "enable_model_summary",
          "num_sanity_val_steps", "strategy", "devices", "num_nodes", "default_root_dir")
