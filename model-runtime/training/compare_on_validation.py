"""Compare trained runs on the validation split only, to choose which run ships as `e3` (test data and MNIST stay out).

    python3 compare_on_validation.py                      # e3, the deep ensemble de-vmoe and every finished candidate
    python3 compare_on_validation.py e3 e3-e16 --json OUT  # some of them, and the figures as JSON

For each model (a run, or a bundle of e3/specs.py BUNDLES: several runs = a deep ensemble) on the 5,000 validation
images:
- accuracy, NLL and ECE with a cross-fitted temperature (fitted on one half, measured on the other, both ways, averaged),
  so that no figure is measured on the images its temperature was fitted on;
- an OOD proxy built from validation images only: the mutual information's AUROC of the validation images against
  three unfamiliar versions of them (rotated a quarter turn, intensity inverted, 7x7 patches shuffled), and its mean.

The rule: a candidate replaces `e3` when its validation NLL is lower than `e3`'s by more than two standard errors of
the per-image difference (the same images, the same cross-fitting) and its mean proxy AUROC is higher; among several,
the one with the higher proxy AUROC. The proxy has not been shown to predict the MNIST AUROC: models/README.md
("Candidates for e3") has the one comparison so far and why its winner does not ship.
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import train  # noqa: E402
from e3 import data, specs  # noqa: E402

PROXY_SEED = 0
PATCH = 7


def unfamiliar_versions(images, seed=PROXY_SEED):
    """Validation images made unfamiliar three ways, each the same count as the input."""
    rng = np.random.RandomState(seed)
    side = images.shape[1] // PATCH
    patches = images.reshape(len(images), side, PATCH, side, PATCH).transpose(0, 1, 3, 2, 4)
    patches = patches.reshape(len(images), side * side, PATCH, PATCH)
    order = np.argsort(rng.rand(len(images), side * side), axis=1)
    shuffled = patches[np.arange(len(images))[:, None], order]
    shuffled = shuffled.reshape(len(images), side, side, PATCH, PATCH).transpose(0, 1, 3, 2, 4)
    return {"rotated": np.ascontiguousarray(np.rot90(images, k=1, axes=(1, 2))),
            "inverted": 255 - images,
            "patch_shuffled": shuffled.reshape(images.shape)}


def cross_fitted(logits, labels):
    """Accuracy, NLL and ECE with the temperature fitted on the other half of the validation split, averaged, and each
    image's NLL under the temperature fitted without it."""
    half = len(labels) // 2
    halves = [np.arange(half), np.arange(half, len(labels))]
    figures, image_nll = [], np.empty(len(labels))
    for fit, measure in (halves, halves[::-1]):
        temperature = export.fit_temperature(logits[fit], labels[fit])
        sig = export.signals(logits[measure], temperature)
        correct = sig["predicted"] == labels[measure]
        image_nll[measure] = -export.ensemble_log_probs(logits[measure], temperature)[np.arange(len(measure)),
                                                                                        labels[measure]]
        figures.append((correct.mean(), export.nll(logits[measure], labels[measure], temperature),
                        export.ece(sig["confidence"], correct)))
    accuracy, nll, ece = np.mean(figures, axis=0)
    return {"accuracy": float(accuracy), "nll": float(nll), "ece": float(ece)}, image_nll


def measure(runs, runs_dir, images, labels, unfamiliar):
    model, arch, _ = export.bundle_model(runs, runs_dir)
    logits = export.member_logits(model, images)
    figures, image_nll = cross_fitted(logits, labels)
    temperature = export.fit_temperature(logits, labels)
    familiar_mi = export.signals(logits, temperature)["mutual_information"]
    proxy = {kind: export.auroc(familiar_mi, export.signals(export.member_logits(model, x),
                                                            temperature)["mutual_information"])
             for kind, x in unfamiliar.items()}
    figures["proxy_mi_auroc"] = proxy
    figures["proxy_mi_auroc_mean"] = float(np.mean(list(proxy.values())))
    figures["mflops"] = export.flops_per_image(export.Architecture(**arch)) / 1e6
    return figures, image_nll


def nll_gain(candidate_nll, base_nll):
    """How much lower the candidate's validation NLL is than the base's, and the standard error of that difference
    (paired over the same images)."""
    difference = np.asarray(base_nll) - np.asarray(candidate_nll)
    return float(difference.mean()), float(difference.std(ddof=1) / np.sqrt(len(difference)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", help="runs or bundles (default: e3, de-vmoe and the finished candidates)")
    parser.add_argument("--runs", default=train.RUNS_DIR)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    names = args.models or ["e3", "de-vmoe"] + [c for c in specs.CANDIDATES
                                                if (train.read_run(args.runs, c) or {}).get("finished")]
    images, labels = data.fashion("validation")
    unfamiliar = unfamiliar_versions(images)
    results, image_nll = {}, {}
    for name in names:
        runs = specs.BUNDLES.get(name, [name])
        results[name], image_nll[name] = measure(runs, args.runs, images, labels, unfamiliar)
        r = results[name]
        print(f"{name:12s} acc {r['accuracy']:.4f} nll {r['nll']:.4f} ece {r['ece']:.4f} proxy MI AUROC "
              f"{r['proxy_mi_auroc_mean']:.4f} (" + ", ".join(f"{k} {v:.3f}" for k, v in r["proxy_mi_auroc"].items())
              + f") {r['mflops']:.2f} MFLOPs", flush=True)
    if "e3" in results:
        base = results["e3"]
        winners = []
        for n in (n for n in results if n in specs.CANDIDATES):
            gain, error = nll_gain(image_nll[n], image_nll["e3"])
            results[n]["nll_gain_over_e3"] = {"mean": gain, "standard_error": error}
            print(f"{n}: NLL {gain:+.4f} below e3 (standard error {error:.4f}), proxy AUROC "
                  f"{results[n]['proxy_mi_auroc_mean'] - base['proxy_mi_auroc_mean']:+.4f}")
            if gain > 2 * error and results[n]["proxy_mi_auroc_mean"] > base["proxy_mi_auroc_mean"]:
                winners.append(n)
        choice = max(winners, key=lambda n: results[n]["proxy_mi_auroc_mean"]) if winners else "e3"
        print(f"rule: ship {choice} as e3" + ("" if winners else " (no candidate beats it on both)"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
