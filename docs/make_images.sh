#!/usr/bin/env bash
# Regenerate the pictures in docs/images/ (shown in README.md):
#   nsganet-micro.png  nsga-lightning draw NSGANet
#   nsganet-macro.png  nsga-lightning draw NSGANet --space macro
#   report.png         the top of the report of a real quickstart search, rendered by headless Chromium
# Needs the package installed and chromium (Debian: apt-get install chromium). The search is the quickstart's,
# into its own run directory runs/quickstart (about 3 minutes on 2 CPU cores); a finished one is reused.
# Usage: docs/make_images.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg
# one thread per process: with more, PyTorch's CPU thread pool slows down badly when the CPUs are shared
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
run_dir=runs/quickstart  # the quickstart config's search.run_dir
out=docs/images
mkdir -p "$out"

nsga-lightning draw NSGANet -o "$out/nsganet-micro.png"
nsga-lightning draw NSGANet --space macro -o "$out/nsganet-macro.png"

nsga-lightning search --config configs/quickstart.yaml --progress_bar false
nsga-lightning report "$run_dir" -o "$run_dir/report.html"
browser="$(command -v chromium || command -v chromium-browser || command -v google-chrome)"
profile="$(mktemp -d)"
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --hide-scrollbars --force-device-scale-factor=1 \
  --user-data-dir="$profile" --screenshot="$run_dir/report-full.png" --window-size=1280,1600 \
  "file://$PWD/$run_dir/report.html" 2>/dev/null
# 256-colour palette PNG: the page is flat colours, so this keeps it sharp at a fraction of the size
python - "$run_dir/report-full.png" "$out/report.png" <<'PY'
import sys
from PIL import Image

with Image.open(sys.argv[1]) as page:
    page.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT).save(sys.argv[2], optimize=True)
PY
ls -l "$out"
