"""Lightning callbacks and search callbacks (installed as ``nsga_lightning.callbacks``)."""

from nsga_lightning.callbacks.drop_path_schedule import DropPathSchedule
from nsga_lightning.callbacks.pareto_outputs import ParetoOutputs
from nsga_lightning.callbacks.rung_stop import RungStop
from nsga_lightning.callbacks.search_progress_bar import SearchProgressBar
from nsga_lightning.callbacks.search_tensorboard import SearchTensorBoard
from nsga_lightning.callbacks.stop_on_non_finite_loss import NonFiniteLossError, StopOnNonFiniteLoss

__all__ = [
    "DropPathSchedule",
    "NonFiniteLossError",
    "ParetoOutputs",
    "RungStop",
    "SearchProgressBar",
    "SearchTensorBoard",
    "StopOnNonFiniteLoss",
]
