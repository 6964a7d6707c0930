"""One full-batch gradient-descent iteration of the residual MLP of `resode bench`, in PyTorch.

h_0 = x, h_k = h_{k-1} + V_k gelu(W_k h_{k-1}) / L (exact, erf-based GELU), loss = (1/n) sum_i |h_L^i - y_i|^2,
then Z <- Z - eta * L * dloss/dZ for every W_k, V_k. Same sizes, precision and thread count as the engine's
row; synthetic data x, y ~ N(0, I), W_k ~ N(0, 1/d), V_k ~ N(0, 1/m). Prints one JSON line with the median
and minimum milliseconds per iteration. Used by `resode bench --compare-pytorch`; never by the tests.
"""
import argparse
import json
import statistics
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depth", type=int, required=True)
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--d", type=int, required=True)
    ap.add_argument("--m", type=int, required=True)
    ap.add_argument("--precision", choices=["f32", "f64"], required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--warmup-seconds", type=float, default=1.0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    dtype = torch.float32 if a.precision == "f32" else torch.float64
    L, n, d, m = a.depth, a.n, a.d, a.m
    x = torch.randn(n, d, dtype=dtype)
    y = torch.randn(n, d, dtype=dtype)
    ws = [(torch.randn(m, d, dtype=dtype) / d ** 0.5).requires_grad_() for _ in range(L)]
    vs = [(torch.randn(d, m, dtype=dtype) / m ** 0.5).requires_grad_() for _ in range(L)]
    params = ws + vs
    eta = 1e-4

    def iterate():
        h = x
        for w, v in zip(ws, vs):
            h = h + torch.nn.functional.gelu(h @ w.t()) @ v.t() / L
        loss = ((h - y) ** 2).sum(dim=1).mean()
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            for p, g in zip(params, grads):
                p.sub_(eta * L * g)

    t0 = time.perf_counter()
    done = 0
    while done < 3 or time.perf_counter() - t0 < a.warmup_seconds:
        iterate()
        done += 1
    times = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        iterate()
        times.append((time.perf_counter() - t) * 1e3)
    print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times),
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
