"""Compare trained runs on the validation split only, to choose which run ships as `e3` (test data and MNIST stay out).

    python3 compare_on_validation.py                      # e3, the deep ensemble de-vmoe and every finished candidate
    python3 compare_on_validation.py e3 e3-e16 --json OUT  # some of them, and the figures as JSON

For each model (a run, or a bundle of e3/specs.py BUNDLES: several runs = a deep ensemble) on the 5,000 validation
images:
- accuracy, NLL and ECE with a cross-fitted temperature (fitted on one half, measured on the other, both ways,
  averaged), so that no figure is measured on the images its temperature was fitted on;
- the mutual information's AUROC of the validation images against an out-of-distribution validation set of its own:
  5,000 printed letters (Debian's DejaVu fonts, MNIST-style: white strokes on black, fitted to 20x20 and centred by
  mass in 28x28, random face, stroke width, shear and tilt). MNIST digits stay the test's: nothing here sees them;
- the same AUROC against three unfamiliar versions of the validation images (rotated a quarter turn, intensity
  inverted, 7x7 patches shuffled), and its mean: reported, it chooses nothing (it did not predict MNIST:
  models/README.md, "Candidates for e3");
- how much the members differ: the NLL the ensemble gains over its average member, and the share of images on which
  the members all predict the same class. Reported, it chooses nothing.

The rule, for the two targets `e3` misses (NLL of the deep ensemble, MI AUROC): a candidate replaces `e3` when it is
better than `e3` on one of the two validation figures and not worse on the other, each beyond its noise: the NLL by
two standard errors of the per-image difference (the same images, the same cross-fitting), the letters AUROC by 0.01
(five times the difference between `e3` and `e3-s2`, which differ only in the seed). A seed alone moves both figures
beyond those margins (validation NLL: `e3` and `e3-s2` 0.0137 apart; letters AUROC: `e3-e4` and `e3-e4-s2` 0.046
apart), so a win ships only when a second seed of the same architecture and recipe wins on the same figure too. Among
several, the one with the higher letters AUROC (models/README.md, "Candidates for e3").
"""
import argparse
import json
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import train  # noqa: E402
from e3 import data, specs  # noqa: E402

# The smallest change of the letters AUROC that counts: five times the seed-to-seed difference measured (0.002).
LETTERS_AUROC_MARGIN = 0.01
PROXY_SEED = 0
PATCH = 7
LETTERS_SEED = 1
FONT_DIR = "/usr/share/fonts/truetype/dejavu"
# The six faces of Debian's fonts-dejavu-core, so every machine renders the same images.
FONT_FACES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf",
              "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"]
# Letters only, and no lower-case letter that is drawn like a digit's shape at this size (l, o, s, z, ...).
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabdefghijkmnpqrtuy"


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


def rendered_letters(count, seed=LETTERS_SEED):
    """Printed letters drawn like MNIST digits: a glyph of a random face and stroke width, sheared and tilted, its
    bounding box scaled to 20 pixels on the long side and placed in 28x28 with its centre of mass in the middle."""
    rng = np.random.RandomState(seed)
    fonts = [ImageFont.truetype(os.path.join(FONT_DIR, face), 64) for face in FONT_FACES]
    letters = np.zeros((count, 28, 28), np.uint8)
    for i in range(count):
        canvas = Image.new("L", (128, 128), 0)
        ImageDraw.Draw(canvas).text((32, 20), LETTERS[rng.randint(len(LETTERS))], fill=255,
                                    font=fonts[rng.randint(len(fonts))], stroke_width=rng.randint(0, 4),
                                    stroke_fill=255)
        shear = rng.uniform(-0.3, 0.3)
        canvas = canvas.transform(canvas.size, Image.AFFINE, (1, shear, -shear * 64, 0, 1, 0), Image.BILINEAR)
        glyph = canvas.rotate(rng.uniform(-15, 15), Image.BILINEAR)
        glyph = glyph.crop(glyph.getbbox())
        scale = 20 / max(glyph.size)
        glyph = np.asarray(glyph.resize((max(1, round(glyph.size[0] * scale)), max(1, round(glyph.size[1] * scale))),
                                        Image.LANCZOS))
        rows, cols = np.indices(glyph.shape)
        mass = glyph.sum(dtype=np.float64)
        top = int(np.clip(round(14 - (rows * glyph).sum() / mass), 0, 28 - glyph.shape[0]))
        left = int(np.clip(round(14 - (cols * glyph).sum() / mass), 0, 28 - glyph.shape[1]))
        letters[i, top:top + glyph.shape[0], left:left + glyph.shape[1]] = glyph
    return letters


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


def diversity(logits, labels, ensemble_nll):
    """How much the members differ on the validation images: the NLL the ensemble gains over its average member (each
    member cross-fitted like the ensemble) and the share of images on which every member predicts the same class."""
    members = logits.shape[1]
    member_nll = [cross_fitted(logits[:, m:m + 1], labels)[0]["nll"] for m in range(members)]
    predicted = logits.argmax(-1)
    return {"member_nll": member_nll, "averaging_gain": float(np.mean(member_nll) - ensemble_nll),
            "members_agree": float((predicted == predicted[:, :1]).all(axis=1).mean())}


def measure(runs, runs_dir, images, labels, letters, unfamiliar):
    model, arch, _ = export.bundle_model(runs, runs_dir)
    logits = export.member_logits(model, images)
    figures, image_nll = cross_fitted(logits, labels)
    figures.update(diversity(logits, labels, figures["nll"]))
    temperature = export.fit_temperature(logits, labels)
    familiar_mi = export.signals(logits, temperature)["mutual_information"]

    def mi_auroc(unfamiliar_images):
        logits_of = export.member_logits(model, unfamiliar_images)
        return export.auroc(familiar_mi, export.signals(logits_of, temperature)["mutual_information"])

    figures["letters_mi_auroc"] = mi_auroc(letters)
    proxy = {kind: mi_auroc(x) for kind, x in unfamiliar.items()}
    figures["proxy_mi_auroc"] = proxy
    figures["proxy_mi_auroc_mean"] = float(np.mean(list(proxy.values())))
    figures["mflops"] = export.flops_per_image(export.Architecture(**arch)) / 1e6
    return figures, image_nll


def nll_gain(candidate_nll, base_nll):
    """How much lower the candidate's validation NLL is than the base's, and the standard error of that difference
    (paired over the same images)."""
    difference = np.asarray(base_nll) - np.asarray(candidate_nll)
    return float(difference.mean()), float(difference.std(ddof=1) / np.sqrt(len(difference)))


def win(nll_gain_mean, nll_gain_error, letters_gain):
    """Which figure a candidate wins on: "letters" when its letters AUROC is higher and its NLL not worse, "nll" when
    its NLL is lower and its letters AUROC the same, each beyond its noise; None when it does not win."""
    nll = 1 if nll_gain_mean > 2 * nll_gain_error else -1 if nll_gain_mean < -2 * nll_gain_error else 0
    letters = 1 if letters_gain > LETTERS_AUROC_MARGIN else -1 if letters_gain < -LETTERS_AUROC_MARGIN else 0
    if min(nll, letters) < 0:
        return None
    return "letters" if letters == 1 else "nll" if nll == 1 else None


def differ_only_in_seed(run, other):
    """Two candidates of the same architecture trained with the same recipe."""
    return (run != other and specs.ALL_RUNS[run][0] == specs.ALL_RUNS[other][0]
            and specs.recipe(run=run) == specs.recipe(run=other))


def choose(wins):
    """The run to ship as e3 from {candidate: the figure it won on}: a win ships only when another seed of the same
    architecture and recipe wins on the same figure too; among several, the first of the given order. Also the winners
    still waiting for that second seed."""
    confirmed = [n for n, won in wins.items() if any(differ_only_in_seed(n, o) and wins[o] == won for o in wins)]
    waiting = [n for n in wins if n not in confirmed]
    return (confirmed[0] if confirmed else "e3"), waiting


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("models", nargs="*", help="runs or bundles (default: e3, de-vmoe and the finished candidates)")
    parser.add_argument("--runs", default=train.RUNS_DIR)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    train.run_with_jemalloc()
    names = args.models or ["e3", "de-vmoe"] + [c for c in specs.CANDIDATES
                                                if (train.read_run(args.runs, c) or {}).get("finished")]
    images, labels = data.fashion("validation")
    letters = rendered_letters(len(images))
    unfamiliar = unfamiliar_versions(images)
    results, image_nll = {}, {}
    for name in names:
        runs = specs.BUNDLES.get(name, [name])
        results[name], image_nll[name] = measure(runs, args.runs, images, labels, letters, unfamiliar)
        r = results[name]
        transformed = ", ".join(f"{k} {v:.3f}" for k, v in r["proxy_mi_auroc"].items())
        print(f"{name:12s} acc {r['accuracy']:.4f} nll {r['nll']:.4f} (averaging gains {r['averaging_gain']:.4f}, "
              f"members agree on {r['members_agree']:.4f}) ece {r['ece']:.4f} MI AUROC letters "
              f"{r['letters_mi_auroc']:.4f}, transformed {r['proxy_mi_auroc_mean']:.4f} ({transformed}) "
              f"{r['mflops']:.2f} MFLOPs", flush=True)
    if "e3" in results:
        base = results["e3"]
        wins = {}
        for n in (n for n in results if n in specs.CANDIDATES):
            gain, error = nll_gain(image_nll[n], image_nll["e3"])
            letters_gain = results[n]["letters_mi_auroc"] - base["letters_mi_auroc"]
            results[n]["nll_gain_over_e3"] = {"mean": gain, "standard_error": error}
            print(f"{n}: NLL {gain:+.4f} below e3 (standard error {error:.4f}), letters AUROC {letters_gain:+.4f}")
            won = win(gain, error, letters_gain)
            if won:
                wins[n] = won
        by_letters = sorted(wins, key=lambda n: results[n]["letters_mi_auroc"], reverse=True)
        choice, waiting = choose({n: wins[n] for n in by_letters})
        for n in waiting:
            print(f"{n} wins on {wins[n]}: train a second seed of it (a candidate with the same architecture and "
                  "recipe); it ships if that seed wins on the same figure too")
        print(f"rule: ship {choice} as e3"
              + ("" if wins else " (no candidate is better on one and not worse on the other)"))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
