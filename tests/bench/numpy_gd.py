"""The same math as nnlab's reference perceptron, in numpy, for `make bench`.

usage: numpy_gd.py DATA.f64 N D EPOCHS LEARNING_RATE
DATA.f64 holds N*D features (row-major) then N targets, as float64.
Times one run of EPOCHS epochs from w = 0, b = 0, after one untimed epoch
(so that OpenBLAS's threads and numpy's first allocations are not in it).
bench.c runs this once per turn, between nnlab's runs, and takes the same
median (or minimum) as for every other figure.
Prints: seconds_per_epoch final_loss blas_threads
"""
import sys
import time

import numpy as np


def train(X, y, w, lr, epochs):
    n = X.shape[0]
    b = 0.0
    for _ in range(epochs):
        z = X @ w + b
        a = 1.0 / (1.0 + np.exp(-z))
        g = (2.0 / n) * (a - y) * a * (1.0 - a)
        w -= lr * (X.T @ g)
        b -= lr * g.sum()
    return b


def main():
    path, n, d, epochs, lr = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4]), float(sys.argv[5])
    raw = np.fromfile(path, dtype=np.float64)
    X = raw[: n * d].reshape(n, d)
    y = raw[n * d: n * d + n]
    w = np.zeros(d)
    train(X, y, w, lr, 1)
    w[:] = 0.0
    start = time.perf_counter()
    b = train(X, y, w, lr, epochs)
    seconds = (time.perf_counter() - start) / epochs
    a = 1.0 / (1.0 + np.exp(-(X @ w + b)))
    loss = float(np.mean((a - y) ** 2))
    threads = "?"
    try:
        from threadpoolctl import threadpool_info
        threads = ",".join(str(i["num_threads"]) for i in threadpool_info())
    except ImportError:
        pass
    print(f"{seconds:.9g} {loss:.17g} {threads}")


if __name__ == "__main__":
    main()
