"""The model family: one backbone and recipe, the architectures that differ, and how runs make bundles."""
from .model import Architecture, last_odd_layers

LAYERS = 6
BASE = dict(layers=LAYERS, hidden=64, heads=4, mlp_dim=128, patch=7, stem_channels=16)

# Training runs (one checkpoint each). Seeds differ so deep-ensemble members are independent.
RUNS = {
    "e3-n1": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 1), **BASE), 11),
    "vmoe-k1-s1": (Architecture(kind="vmoe", experts=8, top_k=1, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 21),
    "vmoe-k1-s2": (Architecture(kind="vmoe", experts=8, top_k=1, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 22),
    "vit-s1": (Architecture(kind="vit", **BASE), 31),
    "vit-s2": (Architecture(kind="vit", **BASE), 32),
    "vmoe-k2": (Architecture(kind="vmoe", experts=8, top_k=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 41),
    "e3-n2": (Architecture(kind="e3", experts=8, top_k=1, ensemble_size=2, moe_layers=last_odd_layers(LAYERS, 2), **BASE), 12),
}

# Bundles shipped under models/: name -> training runs (several runs = a deep ensemble of them).
BUNDLES = {
    "e3": ["e3-n1"],
    "e3-n2": ["e3-n2"],
    "vmoe": ["vmoe-k2"],
    "de-vmoe": ["vmoe-k1-s1", "vmoe-k1-s2"],
    "vit": ["vit-s1"],
    "de-vit": ["vit-s1", "vit-s2"],
}

EPOCHS = 8
BATCH = 256
LR = 2e-3
WEIGHT_DECAY = 0.05
WARMUP_STEPS = 200
AUX_LOSS_WEIGHT = 0.01
