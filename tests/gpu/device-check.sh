#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU (driver only: libcuda.so.1) and no .NET.
#
# Prepare it where .NET is (from the repository root):
#   bash tests/gpu/device-check.sh --prepare DIR
# which publishes the conformance tool self-contained and single-file into DIR/gpu-check (about 51 MB)
# and puts the reference data (DIR/data.tar.gz; when DIR is inside the checkout the script can read
# tests/data instead) and this script into DIR. Optionally lay out the Python peers in
# DIR/peers with ../shared/gpu/setup_peers.sh and copy peer_gpu_bench.py and peer_graph_bench.py into
# DIR. Then, on the GPU machine:
#   bash DIR/device-check.sh [OUTDIR [ARGS...]]
# ARGS go to the check itself: --only SECTION,... reruns some of its parts (cases, lockstep, exact, chains, full,
# figures, crossover, networks) and then skips OpenCL. SNN_GPU_CHECK_TIMEOUT (seconds) bounds the CUDA check.
# It replays every reference case and network (and the transcribed cases) on the cuda backend, checks the device against the CPU
# bit for bit, fills the device to check that a network it has no room for steps on the CPU, measures the GPU figures,
# tries the same (short) on OpenCL, runs the peers if they are there, and ends with one line:
#   gpu-check: N passed, M failed
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)

if [ "${1:-}" = "--prepare" ]; then
  dir=$(mkdir -p "${2:?--prepare DIR}" && cd "$2" && pwd)
  root=$(cd "$here/../.." && pwd)
  dotnet publish "$root/tests/Snn.Conformance" -c Release -r linux-x64 --self-contained \
    -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -o "$dir/gpu-check" || exit 1
  rm -f "$dir"/gpu-check/*.pdb
  tar -czf "$dir/data.tar.gz" -C "$root/tests" data/refcases data/refnets data/transcribed
  cp "$here/device-check.sh" "$dir/"
  du -sh "$dir"
  exit 0
fi

# A binary carried xz-compressed (46 MB instead of 55, for transfers with a size limit) is unpacked first.
if [ -f "$here/gpu-check/Snn.Conformance.xz" ] && [ ! -x "$here/gpu-check/Snn.Conformance" ]; then
  { xz -dc "$here/gpu-check/Snn.Conformance.xz" 2>/dev/null ||
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$here/gpu-check/Snn.Conformance.xz"; } \
    > "$here/gpu-check/Snn.Conformance" && chmod +x "$here/gpu-check/Snn.Conformance"
fi

out=${1:-${OUT:-$here/out}}
shift || true
mkdir -p "$out"
work=$(mktemp -d)
if [ -f "$here/data.tar.gz" ]; then
  tar -xzf "$here/data.tar.gz" -C "$work" || { echo "gpu-check: 0 passed, 1 failed (data.tar.gz unreadable)"; exit 1; }
elif [ -d "$here/../tests/data/refcases" ]; then
  # DIR inside a checkout (as the device tool carries it): the repository's own test data.
  ln -s "$(cd "$here/../tests/data" && pwd)" "$work/data"
else
  echo "gpu-check: 0 passed, 1 failed (no data.tar.gz and no ../tests/data)"; exit 1
fi
nvidia-smi > "$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi failed" >> "$out/nvidia-smi.txt"
head -12 "$out/nvidia-smi.txt"

# 1. The server's own check: reference cases on cuda, device vs CPU bit for bit, figures.
DOTNET_TieredPGO=0 timeout "${SNN_GPU_CHECK_TIMEOUT:-3000}" "$here/gpu-check/Snn.Conformance" gpu-check --data "$work/data" \
  --out "$work/cases" --backend cuda "$@" > "$out/gpu-check.log" 2>&1
rc=$?
grep -v '^RAN \|^server \|^      \|INF\]' "$out/gpu-check.log"

# 2. OpenCL, where this machine has a runtime that ILGPU accepts (it needs generic address space
#    support, which Debian 12's PoCL lacks, so CI has never run it): the same check, short. Reported
#    on its own line and not counted in the closing line: a machine without such a runtime is no failure.
[ $# -eq 0 ] && DOTNET_TieredPGO=0 timeout 120 "$here/gpu-check/Snn.Conformance" gpu-check --data "$work/data" --out "$work/cases-opencl" \
  --backend opencl --quick > "$out/gpu-check-opencl.log" 2>&1
orc=$?
if [ $# -gt 0 ]; then
  echo "opencl: not tried (a partial check: $*)"
elif ! grep -q '^device:' "$out/gpu-check-opencl.log"; then
  echo "opencl (not counted): not available here: $( (grep -m1 '^FAIL' "$out/gpu-check-opencl.log" || tail -1 "$out/gpu-check-opencl.log") | cut -c1-300)"
else
  grep '^FAIL' "$out/gpu-check-opencl.log" | cut -c1-300
  oclosing=$(grep '^gpu-check:' "$out/gpu-check-opencl.log" | tail -1)
  # At its limit timeout stops it with SIGTERM: the check's server stops, what was running fails, and it may still close.
  [ "$orc" = 124 ] && oclosing="${oclosing:+$oclosing, }stopped at its 120 s limit"
  echo "opencl (not counted): ${oclosing:-did not finish (exit code $orc)} on $(grep -m1 '^device:' "$out/gpu-check-opencl.log" | cut -c9-)"
fi

# 3. The peers on the same GPU, if they were laid out.
if [ -d "$here/peers/src" ]; then
  export PYTHONPATH="$here/peers/shims:$here/peers/src/snntorch:$here/peers/src/norse:$here/peers/src/sinabs" PYTHONUNBUFFERED=1
  echo "== peers, torch eager (peer_gpu_bench.py)"
  timeout 150 python3 "$here/peer_gpu_bench.py" 2>&1 | tee "$out/peers-eager.log" | grep -v Warning
  echo "== peers, CUDA graphs (peer_graph_bench.py)"
  timeout 120 python3 "$here/peer_graph_bench.py" 2>&1 | tee "$out/peers-graph.log" | grep -v Warning
fi

rm -rf "$work"
closing=$(grep '^gpu-check:' "$out/gpu-check.log" | tail -1)
echo "${closing:-gpu-check: 0 passed, 1 failed (the check did not finish, exit code $rc)}"
exit $rc
