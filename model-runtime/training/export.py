"""Export trained runs as model bundles under models/ (shared/DESIGN.md section 2, models/README.md).

    python3 export.py --all            # every bundle of e3/specs.py BUNDLES
    python3 export.py e3 de-vmoe       # some of them

For each bundle: fit the temperature on the validation split, compute the validation reference distributions (drift)
and default triage thresholds, measure the test-set metrics, export model.onnx (opset 17, dynamic batch, sparse expert
dispatch), write golden.json (PyTorch outputs for the Java parity test) and model.json with the sha256 of model.onnx.
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e3 import data, specs  # noqa: E402
from e3.model import Architecture, DeepEnsemble, VisionTransformer, flops_per_image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "models")
VERSION = "1.0.0"
ECE_BINS = 15


def load_run(run, checkpoints):
    state = torch.load(os.path.join(checkpoints, f"{run}.pt"), map_location="cpu")
    model = VisionTransformer(Architecture(**state["arch"]))
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def bundle_model(runs, checkpoints):
    loaded = [load_run(r, checkpoints) for r in runs]
    if len(loaded) == 1:
        model, state = loaded[0]
        return model, model.arch.to_json(), [state]
    model = DeepEnsemble([m for m, _ in loaded]).eval()
    arch = dict(loaded[0][0].arch.to_json(), kind="deep_ensemble", ensemble_size=len(loaded))
    return model, arch, [s for _, s in loaded]


def member_logits(model, images):
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 1000):
            out.append(model(torch.from_numpy(data.normalise(images[i:i + 1000]))).numpy())
    return np.concatenate(out).astype(np.float64)


def ensemble_log_probs(logits, temperature):
    """log mean_m softmax(z_m / T), computed stably: [N, M, C] -> [N, C]."""
    scaled = logits / temperature
    log_p = scaled - np.logaddexp.reduce(scaled, axis=-1, keepdims=True)
    return np.logaddexp.reduce(log_p, axis=1) - np.log(logits.shape[1])


def nll(logits, labels, temperature):
    return float(-ensemble_log_probs(logits, temperature)[np.arange(len(labels)), labels].mean())


def fit_temperature(logits, labels):
    """Minimise validation NLL over log T: coarse grid, then golden-section refinement."""
    grid = np.linspace(np.log(0.25), np.log(4.0), 61)
    best = grid[int(np.argmin([nll(logits, labels, np.exp(g)) for g in grid]))]
    lo, hi = best - 0.05, best + 0.05
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(40):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if nll(logits, labels, np.exp(a)) < nll(logits, labels, np.exp(b)):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def signals(logits, temperature):
    probs = np.exp(ensemble_log_probs(logits, temperature))
    scaled = logits / temperature
    member_p = np.exp(scaled - np.logaddexp.reduce(scaled, axis=-1, keepdims=True))
    entropy = -(probs * np.log(np.clip(probs, 1e-300, None))).sum(-1)
    expected = -(member_p * np.log(np.clip(member_p, 1e-300, None))).sum(-1).mean(1)
    return {"probs": probs, "confidence": probs.max(-1), "entropy": entropy,
            "mutual_information": np.clip(entropy - expected, 0.0, None), "predicted": probs.argmax(-1)}


def ece(confidence, correct, bins=ECE_BINS):
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() / len(confidence) * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total)


def reference_signal(values):
    quantiles = np.quantile(values, np.linspace(0, 1, 101))
    edges = np.unique(np.quantile(values, np.linspace(0.1, 0.9, 9)))
    which = np.searchsorted(edges, values, side="left")  # bin i: edges[i-1] < v <= edges[i]
    fractions = np.bincount(which, minlength=len(edges) + 1) / len(values)
    return {"edges": edges.tolist(), "fractions": fractions.tolist(), "quantiles": quantiles.tolist()}


def default_triage(sig, labels, members):
    """Starting thresholds (the Java `calibrate` command refits them for a user goal): the lowest confidence at which
    accepted validation items have <= 2% error, the 99th validation percentile of mutual information for ensembles,
    and a LAC conformal threshold at alpha = 0.05."""
    order = np.argsort(-sig["confidence"])
    wrong = (sig["predicted"][order] != labels[order]).astype(np.float64)
    error_if_accepting_top = np.cumsum(wrong) / np.arange(1, len(wrong) + 1)
    ok = np.flatnonzero(error_if_accepting_top <= 0.02)
    min_conf = float(sig["confidence"][order][ok[-1]]) if len(ok) else 1.0
    scores = 1.0 - sig["probs"][np.arange(len(labels)), labels]
    n, alpha = len(scores), 0.05
    qhat = float(np.quantile(scores, min(1.0, np.ceil((n + 1) * (1 - alpha)) / n), method="higher"))
    return {"min_confidence": min_conf, "max_entropy": None,
            "max_mutual_information": float(np.quantile(sig["mutual_information"], 0.99)) if members > 1 else None,
            "conformal": {"method": "lac", "alpha": alpha, "threshold": qhat}}


def git_commit():
    try:
        return subprocess.check_output(["git", "rev-parse", "HEAD"], cwd=HERE, text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def export(name, runs, checkpoints):
    model, arch, states = bundle_model(runs, checkpoints)
    out_dir = os.path.join(MODELS, name)
    os.makedirs(out_dir, exist_ok=True)
    val_x, val_y = data.fashion("validation")
    test_x, test_y = data.fashion("test")
    val_logits = member_logits(model, val_x)
    test_logits = member_logits(model, test_x)
    temperature = fit_temperature(val_logits, val_y)
    val = signals(val_logits, temperature)
    test = signals(test_logits, temperature)
    members = val_logits.shape[1]
    triage = default_triage(val, val_y, members)
    test_correct = (test["predicted"] == test_y).astype(np.float64)
    onehot = np.eye(10)[test_y]
    metrics = {"split": "test", "count": int(len(test_y)), "accuracy": float(test_correct.mean()),
               "nll": nll(test_logits, test_y, temperature), "ece": ece(test["confidence"], test_correct),
               "brier": float(((test["probs"] - onehot) ** 2).sum(-1).mean()),
               "accuracy_before_temperature": float((signals(test_logits, 1.0)["predicted"] == test_y).mean()),
               "nll_before_temperature": nll(test_logits, test_y, 1.0)}
    reference = {"split": "validation", "count": int(len(val_y)),
                 "signals": {s: reference_signal(val[s]) for s in ("confidence", "entropy", "mutual_information")},
                 "predicted_class": (np.bincount(val["predicted"], minlength=10) / len(val_y)).tolist(),
                 "mean_confidence": float(val["confidence"].mean()),
                 "accuracy": float((val["predicted"] == val_y).mean())}

    onnx_path = os.path.join(out_dir, "model.onnx")
    dummy = torch.from_numpy(data.normalise(test_x[:2]))
    torch.onnx.export(model, dummy, onnx_path, opset_version=17, input_names=["images"],
                      output_names=["member_logits"],
                      dynamic_axes={"images": {0: "batch"}, "member_logits": {0: "batch"}})
    import onnx
    graph = onnx.load(onnx_path)
    onnx.checker.check_model(graph)
    ops = {n.op_type for n in graph.graph.node}
    if arch["experts"] and "NonZero" not in ops:
        raise RuntimeError(f"{name}: MoE graph without sparse dispatch (no NonZero op)")
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()

    golden_x = data.normalise(test_x[:7])
    # torch.onnx.export restores the module's earlier training flag on every child: insist on eval mode (no gating noise).
    model.eval()
    with torch.no_grad():
        golden_logits = model(torch.from_numpy(golden_x)).numpy()
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump({"images": "first 7 Fashion-MNIST test images, normalised, flattened CHW",
                   "inputs": [[round(float(v), 7) for v in x.ravel()] for x in golden_x],
                   "member_logits": golden_logits.tolist()}, f)

    flops_arch = Architecture(**{k: v for k, v in arch.items()})
    manifest = {
        "name": name, "version": VERSION, "architecture": arch,
        "input": {"name": "images", "channels": 1, "height": 28, "width": 28, "mean": [data.MEAN],
                  "std": [data.STD], "layout": "NCHW"},
        "output": {"name": "member_logits"},
        "classes": data.CLASSES, "temperature": temperature, "triage": triage, "reference": reference,
        "metrics": metrics, "flops_per_image": int(flops_per_image(flops_arch)), "sha256": sha,
        "training": {"data": f"Fashion-MNIST train split minus {data.VALIDATION_SIZE} validation images "
                             f"(seed {data.SPLIT_SEED}); Debian dataset-fashion-mnist",
                     "epochs": states[0]["epoch"], "seed": [s["seed"] for s in states] if len(states) > 1
                     else states[0]["seed"], "runs": runs, "commit": git_commit(),
                     "recipe": {"batch": specs.BATCH, "lr": specs.LR, "weight_decay": specs.WEIGHT_DECAY,
                                "warmup_steps": specs.WARMUP_STEPS, "aux_loss_weight": specs.AUX_LOSS_WEIGHT,
                                "augmentation": "random horizontal flip"},
                     "history": [s["history"] for s in states]},
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    print(f"{name}: acc {metrics['accuracy']:.4f} nll {metrics['nll']:.4f} ece {metrics['ece']:.4f} "
          f"T {temperature:.3f} flops {manifest['flops_per_image']} onnx {os.path.getsize(onnx_path)} B", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("bundles", nargs="*")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--checkpoints", default=os.path.join(HERE, "checkpoints"))
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    names = sorted(specs.BUNDLES) if args.all else args.bundles
    for bundle in names:
        export(bundle, specs.BUNDLES[bundle], args.checkpoints)
