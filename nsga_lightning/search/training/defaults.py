"""Defaults of the candidates' training (no torch: the settings read them too)."""

from __future__ import annotations

from typing import Any

# Each candidate's Trainer options unless the trainer block sets them (the one place they are written).
CANDIDATE_TRAINER_DEFAULTS: dict[str, Any] = {"max_epochs": 20, "accelerator": "auto", "gradient_clip_val": 5.0}
