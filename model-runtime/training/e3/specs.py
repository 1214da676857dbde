"""The model family: one backbone and recipe, the architectures that differ, and how runs make bundles."""
from .model import Architecture, last_odd_layers

# The reference's released E3 layout (vmoe, E3 CIFAR config): 8 blocks, MoE in the last two odd blocks (5 and 7),
# the batch tiled before block 5, so 3 of 8 blocks run once per member.
LAYERS = 8
# A wider convolutional stem (40 channels; the shipped bundles have 16): it runs once per image in E3 (as in every
# single model) but once per member in a deep ensemble. Chosen for the time budget (an E3 epoch ~1.3x the 16-channel
# one on one core) and FLOPs (E3 41 % below the 2-member deep ensemble of V-MoEs; 35 % with 16 channels).
BASE = dict(layers=LAYERS, hidden=64, heads=4, mlp_dim=128, patch=7, stem_channels=40)

# Training runs (one checkpoint each). Seeds differ so deep-ensemble members are independent.
RUNS = {
    "e3": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 12),
    "e3-n1": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 1), **BASE), 11),
    "vmoe-k1-s1": (Architecture(kind="vmoe", experts=8, top_k=1, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 21),
    "vmoe-k1-s2": (Architecture(kind="vmoe", experts=8, top_k=1, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 22),
    "vit-s1": (Architecture(kind="vit", **BASE), 31),
    "vit-s2": (Architecture(kind="vit", **BASE), 32),
    "vmoe-k2": (Architecture(kind="vmoe", experts=8, top_k=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 41),
}

# Candidates for the shipped e3, trained by name (python3 train.py NAME) and never queued by train_all.sh:
# compare_on_validation.py measures them against `e3` on the validation split only, and a candidate that wins there
# becomes the `e3` run (export.py NAME --out DIR makes a bundle of one to measure beside the shipped ones).
# e3-e16: 16 experts, so each member routes among 8 (as each V-MoE of the deep ensemble does) at the same FLOPs;
# e3-s2: today's e3 with another seed, to see how far one seed moves the figures.
# On the letters of compare_on_validation.py the members disagree less with more experts per member (e3-e16) and with
# fewer MoE blocks (e3-n1), so two candidates for more disagreement at the same FLOPs:
# e3-e4: 4 experts, 2 per member (router noise 1/2 instead of 1/4, as it scales with the experts chosen among);
# e3-l567: every tiled block (5, 6, 7) an MoE block instead of every other one. models/README.md has the results;
# e3-e4 disagreed more on the letters at a worse NLL than e3's, and e3's two seeds differ in NLL by about as much:
# e3-e4-s2, e3-e4 with another seed, says whether its NLL is its own or the seed's.
# e3-s3: today's e3 with a third seed. Every E3 run so far is a single model in-distribution (its members' NLL gain from
# averaging 0.0002 or less, the deep ensembles' 0.012-0.013), so the shipped e3's NLL against the deep ensemble's turns
# on how good one seed's members are; a third and a fourth seed say how typical the shipped one is, and how far a seed
# alone moves the figures the rule compares.
CANDIDATES = {
    "e3-e16": (Architecture(kind="e3", experts=16, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 13),
    "e3-s2": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 14),
    "e3-e4": (Architecture(kind="e3", experts=4, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 15),
    "e3-l567": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=[5, 6, 7], **BASE), 16),
    "e3-e4-s2": (Architecture(kind="e3", experts=4, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 17),
    "e3-s3": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 18),
    "e3-s4": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 19),
    "e3-split": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 51),
    "e3-split-s2": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 52),
}
# e3-split, e3-split-s2: today's e3 with the training images split between the members (SPLIT_MEMBER_DATA). A deep
# ensemble's members differ because each is trained apart; E3's see the same images in the same batches, and every E3
# run so far is one model in-distribution. If the members' experts learn from disjoint halves of the data, do they
# disagree enough to gain from averaging, and at what cost to each member? Not enough: models/README.md, round 4.
# Every run with a spec: what train.py trains by name and checks a run file against.
ALL_RUNS = {**RUNS, **CANDIDATES}

# The runs of the E3-vs-deep-ensemble comparison: trained first.
COMPARISON_RUNS = ["e3", "vmoe-k1-s1", "vmoe-k1-s2"]
# One training step's relative cost per run on one core (e3 = 1.0; measured 514, 457, 431, 443, 385 ms per step of
# 256 images), so the queue can put the longest remaining run first.
EPOCH_COST = {"e3": 1.0, "e3-n1": 0.89, "vmoe-k1-s1": 0.84, "vmoe-k1-s2": 0.84, "vmoe-k2": 0.86,
              "vit-s1": 0.75, "vit-s2": 0.75}

# Bundles shipped under models/: name -> training runs (several runs = a deep ensemble of them).
BUNDLES = {
    "e3": ["e3"],
    "e3-n1": ["e3-n1"],
    "vmoe": ["vmoe-k2"],
    "de-vmoe": ["vmoe-k1-s1", "vmoe-k1-s2"],
    "vit": ["vit-s1"],
    "de-vit": ["vit-s1", "vit-s2"],
}

# Recipe: long enough that validation accuracy levels off (cosine to zero), random shifts (pad 2 and crop) and flips.
# 36 epochs: at 24 the cosine schedule ended while validation accuracy was still rising (e3 0.916 at 24, 0.928 at 36).
EPOCHS = 36
BATCH = 256
LR = 2e-3
WEIGHT_DECAY = 0.05
WARMUP_STEPS = 400
SHIFT_PIXELS = 2
# Validation accuracy is recorded every few epochs and after the last one (it only reports, it chooses nothing).
VALIDATE_EVERY = 4
# The reference's auxiliary weights: importance and load loss at 0.005 each.
IMPORTANCE_LOSS_WEIGHT = 0.005
LOAD_LOSS_WEIGHT = 0.005


# Every image teaches every member, unless a run's recipe says otherwise: with this, each training image teaches one
# member only, drawn once per run from its seed, and that member's loss counts M times, so every image weighs the same
# in the loss of the shared blocks and each member's experts learn from their own 1/M of the images.
SPLIT_MEMBER_DATA = "each training image teaches one member, drawn once per run from its seed, its loss weighed M times"
RECIPE_CHANGES = {"e3-split": {"member_data": SPLIT_MEMBER_DATA}, "e3-split-s2": {"member_data": SPLIT_MEMBER_DATA}}


def recipe(epochs=EPOCHS, run=None):
    """Everything a run's weights depend on besides its architecture and seed. A run file records the recipe it was
    trained with; one trained with another recipe is trained again from the start (train.py), and the exporter
    refuses it, so a bundle never mixes recipes."""
    return {"epochs": epochs, "batch": BATCH, "lr": LR, "weight_decay": WEIGHT_DECAY, "warmup_steps": WARMUP_STEPS,
            "importance_loss_weight": IMPORTANCE_LOSS_WEIGHT, "load_loss_weight": LOAD_LOSS_WEIGHT,
            "augmentation": f"random horizontal flip and random shift of up to {SHIFT_PIXELS} pixels "
                            "(zero padding, then crop)",
            **RECIPE_CHANGES.get(run, {})}
