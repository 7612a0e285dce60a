"""Packages are discovered under ``nsga_lightning/``; two folders at the repository root are mapped into the
package: ``callbacks/`` as ``nsga_lightning.callbacks`` and the YAML presets ``configs/`` as
``nsga_lightning.configs`` (package data). Everything else is in ``setup.cfg``."""

from setuptools import find_packages, setup

MAPPED = {"nsga_lightning.callbacks": "callbacks", "nsga_lightning.configs": "configs"}

setup(
    packages=[*find_packages(include=["nsga_lightning", "nsga_lightning.*"]), *MAPPED],
    package_dir=MAPPED,
)
