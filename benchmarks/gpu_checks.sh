#!/usr/bin/env bash
# The GPU checks, as one prepared run (a few minutes on one GPU), for a session that is lent a device.
# Assumes the project is installed (pip install -e ".[test]"). Prints the results of:
#   1. the gpu-marked tests: networks and MAdds on CUDA; candidates in 32-true / 16-mixed / bf16-mixed; the
#      deferred non-finite-loss check; device memory back to its baseline between candidates;
#   2. the data pipeline with the augmentation on the GPU;
#   3. a candidate's training throughput by precision and memory format (the search-size proxy);
#   4. the CUDA latency path (search.latency target cuda: CUDA events after synchronising): the lookup table and
#      its calibration on the GPU, predicted against measured latency of 20 proxies per space, two passes.
set -uo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
python -m pytest -m gpu -q -p no:cacheprovider -o addopts="" -rs
python benchmarks/data_pipeline.py --device cuda --n-images 20000 --workers 0
python benchmarks/candidate_throughput.py --device cuda --precisions 32-true,16-mixed,bf16-mixed \
  --init-channels 16 --layers 8 --batch-size 128 --n-train 4096 --repeats 2
python benchmarks/latency.py --target cuda --networks 20 --batch-size 32
