#!/usr/bin/env bash
# Packs the solution into a local folder feed and checks it holds exactly Snn.Protos, Snn.Client and
# the `snn` tool (Snn.Cli). Builds the README's client example (its C# block, verbatim) as a new
# program that references the Snn.Client package from that folder, exactly as the README tells a user
# to; installs the tool from the folder as the README's "The snn tool" does and runs it: --help, and
# `snn info` against a port where nothing listens, which must fail with a clear message.
# Usage: bash tests/packaging/check-packages.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet pack "$root/SnnService.sln" -c Release -o "$work/packages" -nologo -v q
ls "$work/packages"
for p in Snn.Protos Snn.Client Snn.Cli; do
  [ -f "$work/packages/$p.0.1.0.nupkg" ] || { echo "check-packages: $p.0.1.0.nupkg was not produced"; exit 1; }
done
produced=$(cd "$work/packages" && ls *.nupkg | sort | tr '\n' ' ')
[ "$produced" = "Snn.Cli.0.1.0.nupkg Snn.Client.0.1.0.nupkg Snn.Protos.0.1.0.nupkg " ] || {
  echo "check-packages: dotnet pack produced $produced; expected only Snn.Cli, Snn.Client and Snn.Protos"; exit 1; }

# The snn tool, installed from the folder feed into a tool path of its own.
dotnet tool install --tool-path "$work/tool" --add-source "$work/packages" Snn.Cli --version 0.1.0
"$work/tool/snn" --help > "$work/help.txt"
for word in run watch create info; do
  grep -q "^  $word" "$work/help.txt" || { echo "check-packages: snn --help does not list '$word':"; cat "$work/help.txt"; exit 1; }
done
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
set +e
"$work/tool/snn" info --server "http://127.0.0.1:$port" > "$work/info.out" 2> "$work/info.err"
code=$?
set -e
[ "$code" = 1 ] && grep -q "nothing is listening at 127.0.0.1:$port (connection refused)" "$work/info.err" || {
  echo "check-packages: snn info against a closed port exited $code with:"; cat "$work/info.out" "$work/info.err"; exit 1; }
echo "check-packages: the snn tool installs from the folder feed; snn info against nothing says: $(cat "$work/info.err")"

mkdir "$work/app"
cd "$work/app"
dotnet new console -n ReadmeApp -o . --force >/dev/null
# The README's "A client in ten lines" block, as it stands.
awk '/^## A client in ten lines/{s=1} s&&/^```csharp/{c=1;next} c&&/^```/{exit} c{print}' "$root/README.md" > Program.cs
[ -s Program.cs ] || { echo "check-packages: no C# block under 'A client in ten lines' in README.md"; exit 1; }
dotnet nuget add source "$work/packages" --name local --configfile nuget.config >/dev/null 2>&1 || {
  printf '<?xml version="1.0" encoding="utf-8"?>\n<configuration><packageSources /></configuration>\n' > nuget.config
  dotnet nuget add source "$work/packages" --name local --configfile nuget.config >/dev/null; }
dotnet add package Snn.Client --version 0.1.0 >/dev/null
dotnet build -nologo -v q -warnaserror
echo "check-packages: Snn.Protos, Snn.Client and Snn.Cli packed; the README example builds against them from a local folder feed"
