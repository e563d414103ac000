#!/usr/bin/python3
"""PyTorch peer of bench_train_step: the same models, steps, shapes and batches, timed the same way.

Models (identical to lowbit's nn/zoo):
  lenet5   1x28x28: conv1 6@5x5 pad 2 -> BN -> ReLU -> maxpool 2; conv2 16@5x5 -> BN -> ReLU -> maxpool 2;
           fc1 400->120 -> BN1d -> ReLU; fc2 120->84 -> BN1d -> ReLU; fc3 84->10 (only fc3 has a bias)
  resnet20 3x32x32: conv 3x3@16 -> BN -> ReLU; 3 stages x 3 BasicBlocks (16, 32, 64 channels, stride 2 at the
           start of stages 2 and 3, option-A shortcut: subsample + zero channels); global average pool; fc 64->10
Steps: "train" = zero_grad, forward, cross-entropy, backward, SGD(lr 0.01, momentum 0.9, wd 5e-4) step at
batch 128; "infer" = eval mode under torch.inference_mode() at batch 1 and 64. Inputs are seeded uniform noise.

--shape CxHxW changes the input (e.g. resnet20 on 1x28x28, the Fashion-MNIST shape of bench/bench_model.sh; LeNet-5
takes only 1x28x28).

Timing: 3 warm-up steps, then --reps repetitions, each of as many steps as fill --min-time seconds (at least 1);
the median ms/step is reported. --timing per-run times every step on its own instead, as `lowbit bench-model` does:
--warmup steps, then steps until at least --reps of them and --min-time seconds; median, p90, p99 (linear
interpolation) and the process CPU time per step. Peak memory: ru_maxrss of this process (one configuration per process).
What the peer ran as is recorded too: ATen's CPU capability, the BLAS library torch loaded and, when that is
OpenBLAS, openblas_get_corename() / openblas_get_config() and the OPENBLAS_CORETYPE it saw (scripts/bench_train.sh
unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for this process).

  /usr/bin/python3 bench/pytorch_peer.py --model resnet20 --step train --batch 128 --threads 2
  /usr/bin/python3 bench/pytorch_peer.py --all          # every configuration, each in its own process

Prints JSON on stdout.
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def native_info(torch):
    """The peer's native libraries as this process loaded them (for fairness checks in the results)."""
    import ctypes
    import os
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 6 and any(k in parts[5] for k in ("blas", "dnnl", "gomp")):
                libs.add(parts[5])
    info = {"native_libraries": sorted(libs),
            "openblas_coretype_env": os.environ.get("OPENBLAS_CORETYPE") or "unset",
            "openblas_l2_size_env": os.environ.get("OPENBLAS_L2_SIZE") or "unset",
            "aten_cpu_capability_env": os.environ.get("ATEN_CPU_CAPABILITY") or "unset",
            "mkldnn_available": bool(torch.backends.mkldnn.is_available())}
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage:" in line:
            info["aten_cpu_capability"] = line.split(":", 1)[1].strip()
    blas = [p for p in sorted(libs) if "openblas" in p or "libblas" in p]
    for path in blas:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            lib.openblas_get_config.restype = ctypes.c_char_p
            info["openblas_corename"] = lib.openblas_get_corename().decode()
            info["openblas_config"] = lib.openblas_get_config().decode()
            break
        except (OSError, AttributeError):
            continue  # not OpenBLAS (e.g. the reference BLAS): no corename to report
    return info


def build(name, shape=None):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    if name == "lenet5":
        if shape not in (None, (1, 28, 28)):
            raise SystemExit("pytorch_peer.py: lenet5 takes 1x28x28 images")
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2, bias=False), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120, bias=False), nn.BatchNorm1d(120), nn.ReLU(),
            nn.Linear(120, 84, bias=False), nn.BatchNorm1d(84), nn.ReLU(),
            nn.Linear(84, 10)), (1, 28, 28)

    class ShortcutA(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.stride, self.front, self.back = stride, (cout - cin) // 2, cout - cin - (cout - cin) // 2

        def forward(self, x):
            return F.pad(x[:, :, ::self.stride, ::self.stride], (0, 0, 0, 0, self.front, self.back))

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Identity() if (cin == cout and stride == 1) else ShortcutA(cin, cout, stride)

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + self.shortcut(x))

    if name == "resnet20":
        c, h, w = shape or (3, 32, 32)
        layers = [nn.Conv2d(c, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()]
        cin = 16
        for stage, width in enumerate((16, 32, 64)):
            for i in range(3):
                stride = 2 if (stage > 0 and i == 0) else 1
                layers.append(BasicBlock(cin, width, stride))
                cin = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10)]
        return nn.Sequential(*layers), (c, h, w)
    raise SystemExit("pytorch_peer.py: unknown model %r (lenet5, resnet20)" % name)


def quantile(sorted_values, q):
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def run_one(model_name, step, batch, threads, reps, min_time, shape=None, timing="reps", warmup=3):
    import torch
    import torch.nn.functional as F

    rss_before = rss_mb()
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    model, (c, h, w) = build(model_name, shape)
    g = torch.Generator().manual_seed(7)
    x = torch.rand((batch, c, h, w), generator=g) * 2 - 1
    y = torch.randint(0, 10, (batch,), generator=g)
    if step == "train":
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

        def one():
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
    else:
        model.eval()

        def one():
            with torch.inference_mode():
                model(x)

    for _ in range(warmup):
        one()
    out = {"model": model_name, "step": step, "batch": batch, "threads": threads, "input": [c, h, w],
           "timing": timing}
    if timing == "per-run":
        times = []
        cpu0 = time.process_time()
        start = time.perf_counter()
        while len(times) < reps or time.perf_counter() - start < min_time:
            t0 = time.perf_counter()
            one()
            times.append((time.perf_counter() - t0) * 1e3)
        cpu_ms = (time.process_time() - cpu0) * 1e3 / len(times)
        st = sorted(times)
        out.update({"ms_median": quantile(st, 0.5), "ms_p90": quantile(st, 0.9), "ms_p99": quantile(st, 0.99),
                    "ms_min": st[0], "ms_mean": sum(st) / len(st), "runs": len(st), "cpu_ms_per_run": cpu_ms,
                    "images_per_s": 1e3 * batch / quantile(st, 0.5), "ms_all": times})
    else:
        # Steps per repetition: enough to fill min_time, from a timed calibration step.
        t0 = time.perf_counter()
        one()
        per = max(time.perf_counter() - t0, 1e-6)
        n = max(1, int(min_time / per))
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(n):
                one()
            times.append((time.perf_counter() - t0) / n * 1e3)
        out.update({"ms_median": statistics.median(times), "ms_min": min(times), "ms_all": times,
                    "steps_per_rep": n})
    out.update({
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "rss_before_mb": rss_before,
        "torch_version": torch.__version__, "torch_threads": torch.get_num_threads(),
        "torch_parallel_info": torch.__config__.parallel_info().splitlines()[:6],
        "torch_native": native_info(torch),
        "loadavg_after": " ".join(open("/proc/loadavg").read().split()[:3]),
    })
    return out


CONFIGS = [(m, "train", 128) for m in ("lenet5", "resnet20")] + \
          [(m, "infer", b) for m in ("lenet5", "resnet20") for b in (1, 64)]


def main():
    ap = argparse.ArgumentParser(description="PyTorch peer of bench_train_step")
    ap.add_argument("--model", choices=["lenet5", "resnet20"])
    ap.add_argument("--step", choices=["train", "infer"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", type=float, default=0.3)
    ap.add_argument("--shape", help="input CxHxW (default: lenet5 1x28x28, resnet20 3x32x32)")
    ap.add_argument("--timing", choices=["reps", "per-run"], default="reps",
                    help="reps: median of repetitions' mean step times; per-run: every step timed on its own")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--all", action="store_true", help="every configuration at --thread-list, one process each")
    ap.add_argument("--thread-list", default="1,2")
    a = ap.parse_args()
    if a.all:
        out = []
        for t in [int(v) for v in a.thread_list.split(",")]:
            for m, s, b in CONFIGS:
                r = subprocess.run([sys.executable, __file__, "--model", m, "--step", s, "--batch", str(b),
                                    "--threads", str(t), "--reps", str(a.reps), "--min-time", str(a.min_time)],
                                   check=True, capture_output=True, text=True)
                out.append(json.loads(r.stdout))
        print(json.dumps(out, indent=1))
        return
    if not (a.model and a.step and a.batch):
        ap.error("--model, --step and --batch are required (or --all)")
    shape = None
    if a.shape:
        try:
            shape = tuple(int(v) for v in a.shape.lower().split("x"))
        except ValueError:
            shape = ()
        if len(shape) != 3 or min(shape) < 1:
            ap.error("--shape must look like 1x28x28")
    print(json.dumps(run_one(a.model, a.step, a.batch, a.threads, a.reps, a.min_time, shape, a.timing, a.warmup)))


if __name__ == "__main__":
    main()
