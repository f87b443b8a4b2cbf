#!/usr/bin/env bash
# The workflow and the benchmark on a GPU host without internet:
#   bash tools/gpu-check.sh BUNDLE DATA OUTDIR [DEVICE]
# BUNDLE  from tools/gpu-bundle.sh (make gpu-bundle), for this host's Python;
# DATA    CIFAR-10 as the official python archive (cifar-10-batches-py/) or as
#         a JPEG tarball (train/<class>/*.jpg, test/<class>/*.jpg), converted here;
# OUTDIR  new or empty: gets summary.csv/.png, device/ and metrics/ JSONs,
#         history/, logs/ (the workflow's and snakemake's), benchmarks/,
#         bench.md and bench.log, versions.txt and gpu-check.log;
# DEVICE  gpu (default), or jax-cpu to rehearse the same path on any machine.
# The host must have the packages of BUNDLE/host-requirements.txt; the bundle
# goes into a temporary folder on PYTHONPATH (nothing system-wide), and the
# workflow (this checkout's Snakefile) runs in another on all cores, for cpu
# and DEVICE.  Exits non-zero when a step fails, after copying what exists.
# Settings: PYTHON (default python3); GPU_CHECK_CONFIG, more --config items,
# shell-quoted ("'mlp={epochs: 1}' 'cnn={epochs: 1}'"); GPU_CHECK_BENCH_ARGS,
# more options of python -m cifarbench.bench (--quick).
set -euo pipefail
die() { echo "gpu-check: $*" >&2; exit 2; }
[[ $# -eq 3 || $# -eq 4 ]] || die "usage: bash tools/gpu-check.sh BUNDLE DATA OUTDIR [gpu|jax-cpu]"
bundle=$1 data=$2 out=$3 device=${4:-gpu}
[[ -f $bundle/host-requirements.txt ]] ||
    die "BUNDLE '$bundle' is not a folder made by tools/gpu-bundle.sh (no host-requirements.txt)"
compgen -G "$bundle/*.whl" > /dev/null || die "BUNDLE '$bundle' holds no wheels"
[[ -f $data ]] || die "DATA '$data': no such file"
[[ $device == gpu || $device == jax-cpu ]] || die "DEVICE '$device': expected gpu or jax-cpu"
[[ ! -e $out || -d $out && -z $(ls -A "$out") ]] || die "OUTDIR '$out' exists and is not empty"
python=${PYTHON:-python3}
command -v "$python" > /dev/null || die "no $python on PATH (set PYTHON)"
[[ $python != */* ]] || python=$(realpath -s "$python")  # a venv's python stays in the venv
words() { "$python" -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$1"; }
text=$(words "${GPU_CHECK_CONFIG:-}") || die "GPU_CHECK_CONFIG: cannot split '${GPU_CHECK_CONFIG:-}'"
extra_config=(); [[ -z $text ]] || mapfile -t extra_config <<< "$text"
text=$(words "${GPU_CHECK_BENCH_ARGS:-}") || die "GPU_CHECK_BENCH_ARGS: cannot split '${GPU_CHECK_BENCH_ARGS:-}'"
extra_bench=(); [[ -z $text ]] || mapfile -t extra_bench <<< "$text"

root=$(cd "$(dirname "$0")/.." && pwd)
bundle=$(cd "$bundle" && pwd) data=$(realpath "$data")
mkdir -p "$out" && out=$(cd "$out" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
work=$tmp/work cores=$(nproc) failed=() collected=0
mkdir -p "$work" && cd "$work"  # so that python -m finds aenet in the bundle, not in a checkout
exec > >(tee -a "$out/gpu-check.log") 2>&1

collect() {  # what the workflow left, into OUTDIR
    local from=$work/results
    collected=1
    for f in summary.csv summary.png; do [[ ! -f $from/$f ]] || cp "$from/$f" "$out/"; done
    for d in device metrics history; do [[ ! -d $from/$d ]] || cp -r "$from/$d" "$out/"; done
    for d in logs benchmarks; do [[ ! -d $work/$d ]] || cp -r "$work/$d" "$out/"; done
    [[ ! -d $work/.snakemake/log ]] || { mkdir -p "$out/logs/snakemake" && cp -r "$work/.snakemake/log/." "$out/logs/snakemake/"; }
}
finish() {
    local rc=$?
    (( collected )) || collect || true
    rm -rf "$tmp"
    (( rc != 0 )) || (( ${#failed[@]} == 0 )) || rc=1
    if (( rc == 0 )); then echo "gpu-check: done, cpu and $device: $out"
    else echo "gpu-check: FAILED (${failed[*]:-stopped}); what exists is in $out"; fi
    exit "$rc"
}
trap finish EXIT
step() { echo; echo "== gpu-check: $* ($(date +%T))"; }

step "host packages ($bundle/host-requirements.txt)"
"$python" "$root/tools/gpu_check.py" host "$bundle/host-requirements.txt"

step "installing the bundle into $tmp/site"
# pip skips the console scripts (aesara's wheel has a top-level package named bin): python -m snakemake.
"$python" -m pip install --quiet --disable-pip-version-check --no-index --no-deps --no-warn-script-location \
    --target "$tmp/site" "$bundle"/*.whl 2>&1 | { grep -v "Target directory .*/bin already exists" || true; }
export PYTHONPATH=$tmp/site${PYTHONPATH:+:$PYTHONPATH}
"$python" "$root/tools/gpu_check.py" versions | tee "$out/versions.txt"

step "data: $data"
layout=$("$python" -m cifarbench.cifar_jpeg --layout "$data")
archive=$data
if [[ $layout == jpeg ]]; then
    archive=$tmp/cifar-10-python.tar.gz
    "$python" -m cifarbench.cifar_jpeg "$data" "$archive"
fi
sha256=$(sha256sum "$archive" | cut -d' ' -f1)
echo "$layout layout; archive $archive, sha256 $sha256"

step "workflow on cpu and $device, $cores cores"
if ! "$python" -m snakemake --snakefile "$root/Snakefile" --configfile "$root/config.yaml" --directory "$work" \
    --cores "$cores" --resources gpu=1 --keep-going --config "device=cpu,$device" "threads=$cores" \
    "data_url=$archive" "data_sha256=$sha256" "${extra_config[@]}"; then
    failed+=(workflow)
fi

step "python -m cifarbench.bench --device $device"
if ! "$python" -m cifarbench.bench --device "$device" --epochs 3 --threads "$cores" --output "$out/bench.md" \
    "${extra_bench[@]}" 2>&1 | tee "$out/bench.log"; then
    failed+=(bench)
fi

collect
(( ${#failed[@]} )) || "$python" "$root/tools/gpu_check.py" verify "$out" "$device" || failed+=(verify)
