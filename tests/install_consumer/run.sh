#!/usr/bin/env bash
# Installs the build tree's lowbit into a temporary prefix and builds + runs the consumers against it: main.cpp
# (kernel, engine and lab APIs), main_c.c (the runtime's C API) and classify.cpp, the README's "Use it as a
# library" program, on a trained model (tests/fixtures) and the first Fashion-MNIST test image when the data is
# there ($LOWBIT_DATA, else <repo>/data).
set -euo pipefail
build="$1"; src="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$src/../.." && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
cmake -S "$src" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$tmp/build" >/dev/null
"$tmp/build/consumer"
"$tmp/build/consumer_c"
# Usage errors and a file that is not a model end in a message and a non-zero status.
if "$tmp/build/classify" 2>/dev/null; then echo "classify without arguments succeeded" >&2; exit 1; fi
if "$tmp/build/classify" "$src/CMakeLists.txt" "$tmp" 2>"$tmp/err"; then echo "classify of a non-model succeeded" >&2; exit 1; fi
grep -q "^classify: " "$tmp/err" || { echo "classify: no error message for a non-model" >&2; exit 1; }
data="${LOWBIT_DATA:-$repo/data}"
if [ -e "$data/fashion-mnist/t10k-images-idx3-ubyte.gz" ] || [ -e "$data/fashion-mnist/t10k-images-idx3-ubyte" ]; then
  out="$("$tmp/build/classify" "$repo/tests/fixtures/lenet5_dorefa_old_record.lbar" "$data")"
  echo "$out"
  # The fixture (86.30 % on the test split) classifies the first test image, an ankle boot, as class 9.
  [ "$out" = "lenet5: test image 0 of fashion-mnist is class 9 (label 9)" ] || { echo "classify: unexpected output" >&2; exit 1; }
else
  echo "classify: no Fashion-MNIST under $data (scripts/setup.sh puts it there): the program was built, not run"
fi
