#!/usr/bin/env bash
# GPU check of posekit: the device tests, every model type trained briefly on synthetic data,
# inference timed (torch on the GPU; ONNX Runtime's CUDA provider when installed) and, when
# it can be installed into a throw-away environment, sleap-nn on the same GPU.
#
#   benchmarks/gpu_check.sh            # on a machine with a CUDA GPU (< 10 min)
#   benchmarks/gpu_check.sh --cpu      # the same steps on the CPU, smaller sizes (< 5 min)
#
# Other options go to benchmarks/gpu_check.py (--no-sleap-nn, --sleap-nn, --out FILE...).
# Environment: POSEKIT_VENV (default: .venv of the checkout; created with the pinned torch
# and `pip install -e ".[dev]"` when posekit does not import from it), GPU_CHECK_BUDGET_S
# (default 570: the whole check, installation included, ends within 10 minutes).
# The report goes to $OUT/gpu_check.json when OUT is set, else benchmarks/results/.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${POSEKIT_VENV:-$ROOT/.venv}"
BUDGET_S="${GPU_CHECK_BUDGET_S:-570}"
TORCH_PINS=("torch==2.14.1" "torchvision==0.29.1")
START=$(date +%s)
cd "$ROOT" || exit 1

stamp() { echo "[$(date +%H:%M:%S)] $*"; }
elapsed() { echo $(( $(date +%s) - START )); }

if ! "$VENV/bin/python" -c "import posekit, torch" >/dev/null 2>&1; then
    stamp "preparing $VENV (torch ${TORCH_PINS[*]}, posekit[dev])"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" || { stamp "cannot create $VENV"; exit 1; }
    fi
    timeout 360 "$VENV/bin/pip" install -q "${TORCH_PINS[@]}" \
        && timeout 180 "$VENV/bin/pip" install -q -e ".[dev]" "${TORCH_PINS[@]}" \
        || { stamp "installing posekit into $VENV failed or timed out after $(elapsed) s"; exit 1; }
fi
stamp "environment ready after $(elapsed) s"

LEFT=$(( BUDGET_S - $(elapsed) ))
if [ "$LEFT" -lt 60 ]; then
    stamp "only ${LEFT} s left of ${BUDGET_S} s after installing; not enough for the check"
    exit 1
fi
# The helper keeps its own deadline; this outer timeout only catches a hang in between.
timeout $(( LEFT + 20 )) "$VENV/bin/python" benchmarks/gpu_check.py --budget-s "$LEFT" "$@"
STATUS=$?
stamp "gpu_check finished with status $STATUS after $(elapsed) s"
exit $STATUS
