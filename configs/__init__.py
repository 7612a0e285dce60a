"""The YAML presets (``nsga-lightning configs`` lists them; ``--config NAME`` uses one), installed as the
package data of ``nsga_lightning.configs``. This file only makes the folder importable in every install mode."""
