"""The run directory at its public path; it lives in :mod:`nsga_lightning.search.store.run_directory`."""

from nsga_lightning.search.store.run_directory import RunDirectory, dump_yaml, space_from_config

__all__ = ["RunDirectory", "dump_yaml", "space_from_config"]
