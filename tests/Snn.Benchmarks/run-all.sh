#!/usr/bin/env bash
# Every benchmark of the project, in one go (about 20 minutes on the 2-core machine):
#   1. in process (BenchmarkDotNet): kernels of every model, engine networks, memory footprint
#      -> tests/Snn.Benchmarks/results/{kernels.md,kernels.svg,engine.md,memory.md}
#   2. end to end over the real transport, server and client in separate processes on loopback
#      -> tests/Snn.Benchmarks/results/end-to-end.md
# Run it on an otherwise idle machine: other processes on two cores show up in every figure.
set -euo pipefail
# 512-bit Vector<float> where the CPU has AVX-512, as the server's launch profile sets it.
export DOTNET_MaxVectorTBitWidth="${DOTNET_MaxVectorTBitWidth:-512}"
cd "$(dirname "$0")/../.."
dotnet run -c Release --project tests/Snn.Benchmarks -- all
dotnet run -c Release --project Snn.Cli -- bench all --out tests/Snn.Benchmarks/results/end-to-end.md
