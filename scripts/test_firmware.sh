#!/usr/bin/env bash
# Cortex-M4F firmware tests under qemu-system-arm -M mps2-an386 (LOWBIT_FIRMWARE=ON, arm-none-eabi-g++, newlib-nano):
#  1. smoke: tests/firmware/smoke_kernels.cpp and smoke_runtime.cpp (hand-built models, logits equal the host's);
#  2. trained-model parity (issue 13 item 5): a W1A1 LeNet-5 (BNN, first/last 8-bit) trained on the host for one
#     short epoch (scripts/parity_models.sh), exported with `lowbit export --format c-header`, built into the C99
#     example runtime/examples/firmware_classify.c together with the first 100 Fashion-MNIST test images as a const
#     array (tests/firmware/images_header.py, generated here, never committed); the firmware's predictions and logits
#     (printed over semihosting) are compared with the x86 runtime's `lowbit run --limit 100` (scripts/compare_logits.py:
#     predictions identical, logits bit-identical or within 1e-5 relative), and the flash / RAM footprints are printed
#     (arm-none-eabi-size, symbol sizes, arena, peak stack) and written to $build/trained/firmware_lenet5_w1a1.json.
# Exits non-zero if a build, test or comparison fails. Stage 2 needs the host build's lowbit and Fashion-MNIST
# ($LOWBIT_DATA or <repo>/data): without them it fails with a message (LOWBIT_FIRMWARE_PARITY=0 skips it).
#   scripts/test_firmware.sh                       build-firmware/, host build in build/ ($LOWBIT_BUILD_DIR)
#   LOWBIT_FIRMWARE_BUILD_DIR=/tmp/fw scripts/test_firmware.sh
#   LOWBIT_FIRMWARE_RECORD=bench/results/firmware_lenet5_w1a1.json scripts/test_firmware.sh   also record the JSON there
# Needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, libstdc++-arm-none-eabi-newlib and qemu-system-arm
# (scripts/setup.sh --cross).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build="${LOWBIT_FIRMWARE_BUILD_DIR:-build-firmware}"
host="${LOWBIT_BUILD_DIR:-build}"
for tool in arm-none-eabi-g++ qemu-system-arm; do
  command -v "$tool" >/dev/null || { echo "test_firmware: $tool not found (run scripts/setup.sh --cross)" >&2; exit 2; }
done
qemu=(qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none -semihosting)
toolchain="$root/cmake/toolchains/arm-none-eabi-cortex-m4.cmake"
t0=$(date +%s)
cmake -S tests/firmware -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
  -DLOWBIT_FW_GENERATED_DIR= >/dev/null
cmake --build "$build" -j "$(nproc)" --target smoke_kernels smoke_runtime
ctest --test-dir "$build" --output-on-failure
echo "test_firmware: smoke done in $(( $(date +%s) - t0 )) s"
[ "${LOWBIT_FIRMWARE_PARITY:-1}" = 0 ] && { echo "test_firmware: trained-model parity skipped (LOWBIT_FIRMWARE_PARITY=0)"; exit 0; }

# ---- 2. a trained W1A1 LeNet-5 in firmware, against the x86 runtime ----
t1=$(date +%s)
model=lenet5_w1a1_fl8
count=100
work="$build/trained"
gen="$work/generated"
mkdir -p "$gen"
bash scripts/parity_models.sh "$host" "$work" "$count" "$model"
cp "$work/$model.h" "$gen/fw_model.h"
python3 tests/firmware/images_header.py "$work/data/fashion-mnist/t10k-images-idx3-ubyte" \
  "$work/data/fashion-mnist/t10k-labels-idx1-ubyte" "$count" "$gen/fw_images.h"
cmake -S tests/firmware -B "$build" -DLOWBIT_FW_GENERATED_DIR="$(cd "$gen" && pwd)" >/dev/null
cmake --build "$build" -j "$(nproc)" --target firmware_classify
elf="$build/firmware_classify.elf"
q0=$(date +%s.%N)
status=0
timeout 600 "${qemu[@]}" -kernel "$elf" >"$work/firmware.out" 2>&1 || status=$?
q1=$(date +%s.%N)
[ "$status" = 0 ] || { tail -n 5 "$work/firmware.out"; echo "test_firmware: firmware_classify exited with $status" >&2; exit 1; }
grep -E '^(model|accuracy|stack)' "$work/firmware.out"
compare_status=0
python3 scripts/compare_logits.py "firmware (Cortex-M4, mps2-an386) vs x86, $model" "$work/$model.x86.logits" \
  "$work/$model.x86.pred" "$work/firmware.out" "$work/firmware.out" --count "$count" --json "$work/compare.json" \
  || compare_status=1

# Footprints: section totals, the big symbols, the arena and the peak stack, as printed and as JSON.
arm-none-eabi-size "$elf"
python3 - "$elf" "$work" "$gen/fw_model.h" "$(echo "$q1 - $q0" | bc)" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  "${LOWBIT_FIRMWARE_RECORD:-}" <<'PY'
import json, os, platform, re, subprocess, sys, time
elf, work, header, qemu_s, rev, record = sys.argv[1:7]
def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
text, data, bss = (int(v) for v in run('arm-none-eabi-size', elf).splitlines()[1].split()[:3])
syms = {}
for line in run('arm-none-eabi-nm', '--print-size', elf).splitlines():
    t = line.split()
    if len(t) == 4:
        syms[t[3]] = int(t[1], 16)
hdr = open(header).read()
model_bytes = int(re.search(r'#define FW_MODEL_LEN (\d+)u', hdr).group(1))
arena = int(re.search(r'#define FW_MODEL_ARENA_BYTES (\d+)u', hdr).group(1))
out = open(os.path.join(work, 'firmware.out')).read()
stack = int(re.search(r'stack: (\d+) bytes used', out).group(1))
acc = re.search(r'accuracy (\d+)/(\d+)', out)
images = syms.get('fw_images', 0) + syms.get('fw_labels', 0)
cmp = json.load(open(os.path.join(work, 'compare.json')))
cpu = next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), platform.processor())
first = lambda *cmd: run(*cmd).splitlines()[0]
res = {
    'what': 'W1A1 LeNet-5 (BNN, first/last 8-bit) on a Cortex-M4F under qemu-system-arm -M mps2-an386: '
            'runtime/examples/firmware_classify.c on the first 100 Fashion-MNIST test images (1-epoch model)',
    'date': time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()),
    'command': 'scripts/test_firmware.sh', 'revision': rev,
    'machine': {'host': '%s %s' % (platform.system(), platform.machine()), 'cpu': cpu, 'host_cores': os.cpu_count(),
                'target': 'Cortex-M4F (fpv4-sp-d16, hard float), qemu-system-arm -M mps2-an386, 1 thread, '
                          'ISA ref (the kernels\' portable C++)'},
    'toolchain': {'arm-none-eabi-gcc': first('arm-none-eabi-gcc', '--version'),
                  'qemu-system-arm': first('qemu-system-arm', '--version'),
                  'flags': 'CMAKE_BUILD_TYPE=Release, cmake/toolchains/arm-none-eabi-cortex-m4.cmake: -mcpu=cortex-m4 '
                           '-mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -ffp-contract=off, newlib-nano, --gc-sections'},
    'size': {'text': text, 'data': data, 'bss': bss},
    'flash_bytes': text + data,
    'flash_bytes_without_test_images': text + data - images,
    'code_bytes': text - images - model_bytes,
    'model_bytes': model_bytes,
    'test_images_bytes': images,
    'arena_bytes': arena,
    'ram_static_bytes': data + bss,
    'stack_peak_bytes': stack,
    'ram_bytes': data + bss + stack,
    'firmware_accuracy': '%s/%s' % (acc.group(1), acc.group(2)),
    'parity': cmp,
    'qemu_wall_seconds': round(float(qemu_s), 2),
}
print('footprint: flash %d bytes (code %d, model %d, test images %d, .data %d); RAM %d bytes (.data + .bss %d, '
      'of which arena %d; peak stack %d)' % (res['flash_bytes'], res['code_bytes'], model_bytes, images, data,
                                            res['ram_bytes'], data + bss, arena, stack))
for path in [os.path.join(work, 'firmware_lenet5_w1a1.json')] + ([record] if record else []):
    with open(path, 'w') as f:
        json.dump(res, f, indent=2)
        f.write('\n')
    print('test_firmware: wrote', path)
PY
echo "test_firmware: trained-model parity done in $(( $(date +%s) - t1 )) s (qemu run $(printf '%.1f' "$(echo "$q1 - $q0" | bc)") s)"
exit "$compare_status"
