#!/usr/bin/env bash
# Wheels for a GPU host without internet (make gpu-bundle):
#   bash tools/gpu-bundle.sh PYVER OUTDIR        e.g. 3.12 build/gpu-bundle
# OUTDIR gets, for Linux x86_64 CPython PYVER, every package the workflow needs
# that the host lacks (tools/gpu_bundle.py; the host's packages are listed in
# tools/gpu-host.lock, or $GPU_HOST_LOCK), the wheels of aenet and cifarbench,
# host-requirements.txt (a copy of that host lock, checked by tools/gpu-check.sh)
# and bundle-requirements.txt (what is bundled).  It is built in a temporary
# folder beside OUTDIR, which then replaces OUTDIR.  Needs PyPI; at most 40 MiB.
set -euo pipefail
die() { echo "gpu-bundle: $*" >&2; exit 2; }
[[ $# -eq 2 ]] || die "usage: bash tools/gpu-bundle.sh PYVER OUTDIR (PYVER such as 3.12)"
pyver=$1 out=${2%/}
[[ $pyver =~ ^3\.[0-9]+$ ]] || die "PYVER must be a Python version such as 3.12, got '$pyver'"
root=$(cd "$(dirname "$0")/.." && pwd)
host_lock=${GPU_HOST_LOCK:-$root/tools/gpu-host.lock}
[[ -f $host_lock ]] || die "no host lock $host_lock"
python=${PYTHON:-$root/.venv/bin/python}
[[ -x $python ]] || python=python3
limit_mib=40

mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d "$(dirname "$out")/.gpu-bundle.XXXXXX")
trap 'rm -rf "$tmp" "$tmp.old"' EXIT
"$python" "$root/tools/gpu_bundle.py" "$pyver" "$tmp" "$host_lock" > "$tmp/bundle-requirements.txt"
"$python" -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$tmp" "$root" "$root/workflow"
cp "$host_lock" "$tmp/host-requirements.txt"

bytes=$(find "$tmp" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1048576}')
(( bytes <= limit_mib * 1048576 )) || die "the bundle is $mib MiB, over $limit_mib MiB"
[[ -e $out ]] && mv "$out" "$tmp.old"
mv "$tmp" "$out"
wheels=("$out"/*.whl)
echo "gpu-bundle: $out: ${#wheels[@]} wheels for Python $pyver, $mib MiB"
