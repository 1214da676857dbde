"""Train one model of the family, resumable from its run file.

    python3 train.py RUN [--epochs N] [--runs DIR]
    python3 train.py --queue [--runs DIR]     # the unfinished runs, in the order the lanes take them

RUN is a key of e3/specs.py RUNS or CANDIDATES (candidates are trained only when named, never queued). Each run has one
file, runs/RUN.pt, tracked in git so that training survives a fresh clone. While the run trains, the file holds
everything needed to resume after the last finished epoch (weights, optimiser, random states, epoch, history); when the
last epoch ends it is rewritten with the weights and history only, marked finished, and a finished run is skipped
without loading anything else. Each file records the recipe it was trained with (e3/specs.py recipe()); a file of
another recipe, architecture or seed is trained again from the start.
"""
import argparse
import glob
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


def member_weights(count, members, seed):
    """Each of count training images' weight in each member's loss [N, M] under SPLIT_MEMBER_DATA: M for the one member
    it teaches, 0 for the others. Drawn from the run's seed apart from the training random state, so resuming draws
    the same split."""
    teaches = np.random.RandomState([seed, 1]).randint(0, members, size=count)
    weights = np.zeros((count, members), dtype=np.float32)
    weights[np.arange(count), teaches] = members
    return weights


def member_loss(logits, labels, weights=None):
    """Each member's own cross-entropy (labels tiled like the images), averaged over images and members; with weights
    [B, M], each image's loss in each member weighed by them."""
    members, classes = logits.shape[1], logits.shape[-1]
    tiled = labels.unsqueeze(1).expand(-1, members).reshape(-1)
    if weights is None:
        return F.cross_entropy(logits.reshape(-1, classes), tiled)
    per_member = F.cross_entropy(logits.reshape(-1, classes), tiled, reduction="none").reshape(-1, members)
    return (per_member * weights).mean()


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


RUNS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs")


def run_file(runs_dir, run):
    return os.path.join(runs_dir, f"{run}.pt")


def read_run(runs_dir, run):
    """The run's saved state on the CPU, or None before its first epoch."""
    path = run_file(runs_dir, run)
    return torch.load(path, map_location="cpu") if os.path.exists(path) else None


def recipe_of(state):
    """The recipe a run file was trained with. A finished file that does not record it was trained with today's recipe
    but for its epoch count (the 24-epoch runs); an unfinished one without it cannot be resumed safely."""
    if "recipe" in state:
        return state["recipe"]
    return specs.recipe(state["epoch"]) if state.get("finished") else None


def differences(state, run, epochs=specs.EPOCHS):
    """What the run file was trained with that the run's spec and recipe now say otherwise (empty: it is current)."""
    arch, seed = specs.ALL_RUNS[run]
    if state.get("arch") != arch.to_json() or state.get("seed") != seed:
        return ["architecture or seed"]
    trained = recipe_of(state)
    if trained is None:
        return ["recipe not recorded"]
    wanted = specs.recipe(epochs, run)
    return [f"{key} {trained.get(key)} -> {wanted[key]}" for key in wanted if trained.get(key) != wanted[key]]


def queue(runs_dir):
    """Unfinished runs (and runs of another recipe), the comparison's first, then the longest remaining first, so two
    lanes that each take the next run off one queue finish together."""
    pending = []
    for run in specs.RUNS:
        state = read_run(runs_dir, run)
        current = state is not None and not differences(state, run)
        if current and state.get("finished"):
            continue
        done = state["epoch"] if current else 0
        remaining = (specs.EPOCHS - done) * specs.EPOCH_COST[run]
        pending.append((run not in specs.COMPARISON_RUNS, -remaining, run))
    return [run for _, _, run in sorted(pending)]


def save(path, state):
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)


def train(run, epochs, runs_dir):
    arch, seed = specs.ALL_RUNS[run]
    os.makedirs(runs_dir, exist_ok=True)
    path = run_file(runs_dir, run)
    state = read_run(runs_dir, run)
    changed = [] if state is None else differences(state, run, epochs)
    if changed:
        print(f"[{run}] its file was trained otherwise ({'; '.join(changed)}): training again from the start",
              flush=True)
        state = None
    if state is not None and state.get("finished"):
        print(f"[{run}] finished after {state['epoch']} epochs: skipped", flush=True)
        return state["history"]
    dev = device()
    # Two training lanes run side by side on 2 cores: one thread each avoids OpenMP barrier spinning.
    torch.set_num_threads(int(os.environ.get("E3_TRAIN_THREADS", os.cpu_count() or 1)))
    torch.manual_seed(seed)
    rng = np.random.RandomState(seed)
    train_x, train_y = data.fashion("train")
    val_x, val_y = data.fashion("validation")
    model = VisionTransformer(arch).to(dev)
    run_recipe = specs.recipe(epochs, run)
    split = run_recipe.get("member_data") == specs.SPLIT_MEMBER_DATA
    image_weights = member_weights(len(train_x), model.members, seed) if split else None
    optimiser = torch.optim.AdamW(model.parameters(), lr=specs.LR, weight_decay=specs.WEIGHT_DECAY)
    steps_per_epoch = len(train_x) // specs.BATCH
    total_steps = epochs * steps_per_epoch

    def lr_at(step):
        if step < specs.WARMUP_STEPS:
            return specs.LR * (step + 1) / specs.WARMUP_STEPS
        progress = (step - specs.WARMUP_STEPS) / max(1, total_steps - specs.WARMUP_STEPS)
        return specs.LR * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    start_epoch, history = 0, []
    if state is not None:
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
            batch_weights = None if image_weights is None else torch.from_numpy(image_weights[idx]).to(dev)
            loss = member_loss(model(x), y, batch_weights)
            importance, load = model.aux_losses()
            loss = loss + specs.IMPORTANCE_LOSS_WEIGHT * importance + specs.LOAD_LOSS_WEIGHT * load
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            loss_sum += loss.item()
        seconds = time.time() - began
        last = epoch + 1 == epochs
        # Validation only watches the run (no choice is made on it during training), so a few epochs apart suffice.
        accuracy = evaluate_accuracy(model, val_x, val_y, dev) \
            if last or (epoch + 1) % specs.VALIDATE_EVERY == 0 else None
        history.append({"epoch": epoch + 1, "train_loss": loss_sum / steps_per_epoch,
                        "val_accuracy": None if accuracy is None else float(accuracy), "seconds": seconds,
                        "device": device_description(dev),
                        "images_per_second": steps_per_epoch * specs.BATCH / seconds})
        print(f"[{run}] epoch {epoch + 1}/{epochs} loss {loss_sum / steps_per_epoch:.4f} "
              f"val_acc {'-' if accuracy is None else f'{accuracy:.4f}'} {seconds:.0f}s", flush=True)
        weights = {k: v.cpu() for k, v in model.state_dict().items()}
        if last:
            save(path, {"finished": True, "model": weights, "epoch": epoch + 1, "history": history,
                        "arch": arch.to_json(), "seed": seed, "recipe": run_recipe})
        else:
            save(path, {"finished": False, "model": weights, "optimiser": optimiser.state_dict(), "epoch": epoch + 1,
                        "history": history, "numpy_rng": rng.get_state(), "torch_rng": torch.get_rng_state(),
                        "arch": arch.to_json(), "seed": seed, "recipe": run_recipe})
    return history


# jemalloc keeping the pages it frees (see run_with_jemalloc).
JEMALLOC_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1"


def jemalloc_library():
    """Debian's libjemalloc2, when installed and not disabled (E3_TRAIN_JEMALLOC=0)."""
    if os.environ.get("E3_TRAIN_JEMALLOC", "1") == "0":
        return None
    return next(iter(sorted(glob.glob("/usr/lib/*/libjemalloc.so.2"))), None)


def run_with_jemalloc():
    """Re-run this command with jemalloc preloaded, keeping the pages it frees. glibc gives each step's buffers of more
    than 32 MiB (the stem's activations at batch 256) back to the kernel and faults them in again on the next step;
    on CPU that more than doubles an epoch (BENCHMARKS.md, "Training on CPU"). The weights are the same bit for bit
    (tests/test_runs.py, AllocatorTest)."""
    library = jemalloc_library()
    preloaded = os.environ.get("LD_PRELOAD", "")
    if library and library not in preloaded:
        env = dict(os.environ, LD_PRELOAD=f"{library} {preloaded}".strip(), MALLOC_CONF=JEMALLOC_CONF)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?", choices=sorted(specs.ALL_RUNS))
    parser.add_argument("--queue", action="store_true", help="print the unfinished runs in the lanes' order")
    parser.add_argument("--epochs", type=int, default=specs.EPOCHS)
    parser.add_argument("--runs", default=RUNS_DIR, help="folder of the run files (default: runs/, tracked in git)")
    args = parser.parse_args()
    if args.queue:
        print("\n".join(queue(args.runs)))
    elif args.run:
        run_with_jemalloc()
        print(json.dumps(train(args.run, args.epochs, args.runs)[-1:]))
    else:
        parser.error("name a RUN or --queue")
