#!/usr/bin/env bash
# Packs Snn.Protos and Snn.Client into a local folder feed, then builds the README's client example
# (its C# block, verbatim) as a new program that references the Snn.Client package from that folder,
# exactly as the README tells a user to. Usage: bash tests/packaging/check-packages.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dotnet pack "$root/SnnService.sln" -c Release -o "$work/packages" -nologo -v q
ls "$work/packages"
for p in Snn.Protos Snn.Client; do
  [ -f "$work/packages/$p.0.1.0.nupkg" ] || { echo "check-packages: $p.0.1.0.nupkg was not produced"; exit 1; }
done
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
echo "check-packages: Snn.Protos and Snn.Client packed; the README example builds against them from a local folder feed"
