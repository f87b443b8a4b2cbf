#!/usr/bin/env bash
# tools/gpu-check.sh rehearsed on this machine's CPU (make gpu-rehearsal):
#   bash tools/gpu-rehearsal.sh [OUTDIR]        (default build/gpu-rehearsal/out)
# A venv stands in for the GPU host (the packages of tools/gpu-host-rehearsal.lock,
# at requirements.lock's versions; $GPU_REHEARSAL_PYTHON, default python3.11),
# the bundle is built for it, and gpu-check.sh runs on a tiny JPEG tarball with
# device jax-cpu, few epochs and a quick benchmark; it checks OUTDIR itself.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
base=$root/build/gpu-rehearsal
out=${1:-$base/out}
python=${GPU_REHEARSAL_PYTHON:-python3.11}
host=$base/host
cd "$root"
start=$SECONDS

stamp=$host/.installed-$(cat tools/gpu-host-rehearsal.lock requirements.lock | sha256sum | cut -c1-16)
if [[ ! -f $stamp ]]; then
    rm -rf "$host"
    "$python" -m venv "$host"
    "$host/bin/pip" install --quiet --disable-pip-version-check \
        -r tools/gpu-host-rehearsal.lock -c requirements.lock
    touch "$stamp"
fi
pyver=$("$host/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
GPU_HOST_LOCK=$root/tools/gpu-host-rehearsal.lock bash tools/gpu-bundle.sh "$pyver" "$base/bundle"
"$host/bin/python" tools/gpu_check.py sample "$base/cifar10-jpeg-tiny.tar.gz" 20 5

[[ $# -gt 0 ]] || rm -rf "$out"  # the default OUTDIR is replaced; one given must be new or empty
PYTHON=$host/bin/python GPU_CHECK_CONFIG="'mlp={epochs: 2}' 'cnn={epochs: 1}'" GPU_CHECK_BENCH_ARGS=--quick \
    bash tools/gpu-check.sh "$base/bundle" "$base/cifar10-jpeg-tiny.tar.gz" "$out" jax-cpu
summary=$("$host/bin/python" tools/gpu_check.py verify "$out" jax-cpu)
[[ $summary == *": cnn, mlp on cpu and jax-cpu,"* ]] ||
    { echo "gpu-rehearsal: expected cnn and mlp: $summary" >&2; exit 1; }
echo "gpu-rehearsal: passed in $((SECONDS - start)) s; $summary"
