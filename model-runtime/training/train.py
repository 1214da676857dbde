"""Train one model of the family, resumable from its per-epoch checkpoint.

    python3 train.py RUN [--epochs N] [--checkpoints DIR]

RUN is a key of e3/specs.py RUNS. Re-running continues from the last finished epoch.
"""
import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # torch's own threads do the parallelism; nested BLAS threads thrash
import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e3 import data, specs  # noqa: E402
from e3.model import VisionTransformer  # noqa: E402


def device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_description(dev):
    """Where an epoch ran, recorded in the run's history (and so in model.json)."""
    if dev.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(dev)}"
    return f"cpu: {torch.get_num_threads()} torch thread(s) of {os.cpu_count()} cores"


def evaluate_accuracy(model, images, labels, dev):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            x = torch.from_numpy(data.normalise(images[i:i + 1000])).to(dev)
            probs = torch.softmax(model(x), dim=-1).mean(dim=1)
            correct += (probs.argmax(-1).cpu().numpy() == labels[i:i + 1000]).sum()
    return correct / len(images)


def augment(images, rng):
    """Random horizontal flip and a random shift of up to SHIFT_PIXELS in each direction (zero padding, then crop)."""
    n = len(images)
    flip = rng.rand(n) < 0.5
    images = np.where(flip[:, None, None], images[:, :, ::-1], images)
    pad = specs.SHIFT_PIXELS
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)))
    dy = rng.randint(0, 2 * pad + 1, size=n)
    dx = rng.randint(0, 2 * pad + 1, size=n)
    rows = dy[:, None] + np.arange(28)[None, :]
    cols = dx[:, None] + np.arange(28)[None, :]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def train(run, epochs, checkpoints):
    arch, seed = specs.RUNS[run]
    dev = device()
    # Two training lanes run side by side on 2 cores: one thread each avoids OpenMP barrier spinning.
    torch.set_num_threads(int(os.environ.get("E3_TRAIN_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    train_x, train_y = data.fashion("train")
    val_x, val_y = data.fashion("validation")
    model = VisionTransformer(arch).to(dev)
    optimiser = torch.optim.AdamW(model.parameters(), lr=specs.LR, weight_decay=specs.WEIGHT_DECAY)
    steps_per_epoch = len(train_x) // specs.BATCH
    total_steps = epochs * steps_per_epoch

    def lr_at(step):
        if step < specs.WARMUP_STEPS:
            return specs.LR * (step + 1) / specs.WARMUP_STEPS
        progress = (step - specs.WARMUP_STEPS) / max(1, total_steps - specs.WARMUP_STEPS)
        return specs.LR * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    os.makedirs(checkpoints, exist_ok=True)
    path = os.path.join(checkpoints, f"{run}.pt")
    start_epoch, history = 0, []
    if os.path.exists(path):
        state = torch.load(path, map_location=dev)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        start_epoch, history = state["epoch"], state["history"]
        rng.set_state(state["numpy_rng"])
        torch.set_rng_state(state["torch_rng"])
        print(f"[{run}] resuming after epoch {start_epoch}", flush=True)
    for epoch in range(start_epoch, epochs):
        model.train()
        began = time.time()
        order = rng.permutation(len(train_x))
        loss_sum = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * specs.BATCH:(step + 1) * specs.BATCH]
            x = torch.from_numpy(data.normalise(augment(train_x[idx], rng))).to(dev)
            y = torch.from_numpy(train_y[idx]).to(dev)
            for group in optimiser.param_groups:
                group["lr"] = lr_at(epoch * steps_per_epoch + step)
            logits = model(x)  # [B, M, C]
            members = logits.shape[1]
            # Each member's own cross-entropy (labels tiled like the images), plus the routers' auxiliary losses.
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                   y.unsqueeze(1).expand(-1, members).reshape(-1))
            importance, load = model.aux_losses()
            loss = loss + specs.IMPORTANCE_LOSS_WEIGHT * importance + specs.LOAD_LOSS_WEIGHT * load
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            loss_sum += loss.item()
        accuracy = evaluate_accuracy(model, val_x, val_y, dev)
        seconds = time.time() - began
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / steps_per_epoch,
                        "val_accuracy": float(accuracy), "seconds": seconds, "device": device_description(dev),
                        "images_per_second": steps_per_epoch * specs.BATCH / seconds})
        print(f"[{run}] epoch {epoch + 1}/{epochs} loss {loss_sum / steps_per_epoch:.4f} "
              f"val_acc {accuracy:.4f} {seconds:.0f}s", flush=True)
        torch.save({"model": model.state_dict(), "optimiser": optimiser.state_dict(), "epoch": epoch + 1,
                    "history": history, "numpy_rng": rng.get_state(), "torch_rng": torch.get_rng_state(),
                    "arch": arch.to_json(), "seed": seed}, path + ".tmp")
        os.replace(path + ".tmp", path)
    return history


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("run", choices=sorted(specs.RUNS))
    parser.add_argument("--epochs", type=int, default=specs.EPOCHS)
    parser.add_argument("--checkpoints", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoints"))
    args = parser.parse_args()
    print(json.dumps(train(args.run, args.epochs, args.checkpoints)[-1:]))
