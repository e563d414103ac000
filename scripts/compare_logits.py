#!/usr/bin/env python3
"""Compares one platform's runtime outputs with the x86 runtime's (issue 13 item 5, cross-platform parity).

    compare_logits.py NAME REF_LOGITS REF_PRED LOGITS PRED [--count N] [--rtol 1e-5] [--json OUT]

--count N compares the first N images (each file must have at least N); without it, every image (the files must
have as many).

Logits files: one line per image of floats as `lowbit run --logits` and `classify --logits` write them (%.9g,
which round-trips a float exactly), or the output of runtime/examples/firmware_classify.c ("image I class P label L
logits" followed by the IEEE-754 bit patterns in hex). Prediction files: `lowbit run --predictions` (one class per
line), the classify example's stdout ("I P [LABEL]" lines) or the firmware's output. Other lines are ignored.

Rule: PASS iff both sides have the images compared, every prediction is identical, and
every logit is within rtol relative (|a - b| <= rtol * max(|a|, |b|)); the line also says how many logits are
bit-identical (float32 bit patterns equal). Prints one summary line; exit status 0 on PASS, 1 on FAIL."""
import argparse
import json
import struct
import sys


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def bits_of(x):
    return struct.unpack('<I', struct.pack('<f', x))[0]


def read_logits(path):
    rows = []
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] == 'image' and 'logits' in t:
                hexes = t[t.index('logits') + 1:]
                rows.append([struct.unpack('<f', struct.pack('<I', int(h, 16)))[0] for h in hexes])
            elif t[0][0] in '-+0123456789.' or t[0].lower() in ('nan', 'inf', '-inf'):
                rows.append([f32(float(v)) for v in t])
    return rows


def read_predictions(path):
    preds = []
    with open(path) as f:
        for line in f:
            t = line.split()
            if not t:
                continue
            if t[0] == 'image' and 'class' in t:
                preds.append(int(t[t.index('class') + 1]))
            elif t[0].isdigit():
                preds.append(int(t[0] if len(t) == 1 else t[1]))
    return preds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('name')
    ap.add_argument('ref_logits')
    ap.add_argument('ref_pred')
    ap.add_argument('logits')
    ap.add_argument('pred')
    ap.add_argument('--count', type=int, default=0)
    ap.add_argument('--rtol', type=float, default=1e-5)
    ap.add_argument('--json', default='')
    a = ap.parse_args()
    ra, rp, la, lp = read_logits(a.ref_logits), read_predictions(a.ref_pred), read_logits(a.logits), read_predictions(a.pred)
    n = len(ra)
    problems = []
    if a.count:
        if min(len(ra), len(rp), len(la), len(lp)) < a.count:
            problems.append('fewer than %d images (%d reference logits, %d reference predictions, %d logits, '
                            '%d predictions)' % (a.count, len(ra), len(rp), len(la), len(lp)))
        n = a.count
        ra, rp, la, lp = ra[:n], rp[:n], la[:n], lp[:n]
    for what, rows in (('reference predictions', rp), ('logits', la), ('predictions', lp)):
        if len(rows) != n:
            problems.append('%d %s for %d reference images' % (len(rows), what, n))
    m = min(n, len(rp), len(la), len(lp))
    same_pred = sum(1 for i in range(m) if rp[i] == lp[i])
    total = bitwise = 0
    max_rel = 0.0
    for i in range(m):
        if len(ra[i]) != len(la[i]):
            problems.append('image %d: %d logits vs %d' % (i, len(la[i]), len(ra[i])))
            continue
        for x, y in zip(ra[i], la[i]):
            total += 1
            bitwise += bits_of(x) == bits_of(y)
            scale = max(abs(x), abs(y))
            rel = abs(x - y) / scale if scale > 0 else 0.0
            max_rel = max(max_rel, rel if rel == rel else float('inf'))
    if same_pred != m:
        problems.append('%d predictions differ' % (m - same_pred))
    if max_rel > a.rtol:
        problems.append('max relative logit difference %.3g > %g' % (max_rel, a.rtol))
    ok = not problems
    print('%s: %s | %d images, predictions identical %d/%d, logits bit-identical %d/%d, max relative difference %.3g%s'
          % (a.name, 'PASS' if ok else 'FAIL', m, same_pred, m, bitwise, total, max_rel,
             '' if ok else ' | ' + '; '.join(problems)))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'name': a.name, 'pass': ok, 'images': m, 'predictions_identical': same_pred,
                       'logits': total, 'logits_bit_identical': bitwise, 'max_relative_difference': max_rel,
                       'rtol': a.rtol, 'problems': problems}, f)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
