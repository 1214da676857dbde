"""The E3 model family: dense ViT, V-MoE and E3 (efficient ensemble of sparse MoEs) on one backbone.

Follows docs/design.md, 'The model' and the paper's reference code (google-research/vmoe,
vmoe/nn/vit_moe_ensemble.py and vmoe/nn/ensemble_routing.py):
- the MLP blocks of the last n odd layers are sparse MoE layers with E experts;
- before the first MoE layer the token batch is tiled M times, image-major (row b*M+m: the M copies of image b are
  adjacent);
- the E experts are split into M groups of E/M; member m routes only inside group m with its own router
  weights (block-diagonal gating), top-K within the group, noisy gating during training (std 1/(E/M), as the
  reference scales noise by the experts the router chooses among);
- one shared head (also for n=1, where members differ only in the last MoE layer's expert group); outputs are
  per-member logits [B, M, C].

Experts are computed sparsely: each expert only sees the tokens routed to it (NonZero/Gather/ScatterND in the
exported ONNX graph), so the FLOPs are those of the routed tokens, not of every expert for every token.
"""
import math
from dataclasses import dataclass, field, asdict
from typing import List

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Architecture:
    kind: str = "e3"            # e3 | vmoe | vit | deep_ensemble
    layers: int = 6
    hidden: int = 64
    heads: int = 4
    mlp_dim: int = 128
    patch: int = 7              # pixels per token side: the stem downsamples 28x28 to a 4x4 token grid
    stem_channels: int = 16
    experts: int = 0            # E (0 for dense)
    top_k: int = 0              # K
    ensemble_size: int = 1      # M (tiling factor for e3, members for deep_ensemble)
    moe_layers: List[int] = field(default_factory=list)
    num_classes: int = 10
    image_size: int = 28
    channels: int = 1

    def token_side(self) -> int:
        return -(-self.image_size // self.patch)

    def tokens(self) -> int:
        return self.token_side() ** 2

    def to_json(self):
        return asdict(self)


def last_odd_layers(layers: int, n: int) -> List[int]:
    """Indices of the last n odd layers (0-based), where V-MoE and E3 place their MoE blocks."""
    odd = [i for i in range(layers) if i % 2 == 1]
    return odd[-n:] if n > 0 else []


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        rows, tokens, dim = x.shape
        qkv = self.qkv(x).reshape(-1, tokens, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = torch.softmax((q @ k.transpose(-2, -1)) * (dim // self.heads) ** -0.5, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(-1, tokens, dim)
        return self.proj(out)


class Mlp(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class EnsembleMoe(nn.Module):
    """Sparse MoE layer with ensemble routing.

    With M=1 this is the V-MoE layer (one router over all E experts). With M>1 the input rows are image-major
    copies of each image (row b*M+m); member m's router only scores the E/M experts of its own group.
    Auxiliary losses follow vmoe routing.py, per member group: importance on the clean gate softmax, load on the
    probability that each expert would still be chosen if the noise were drawn again.
    """

    def __init__(self, dim, mlp_dim, experts, top_k, members):
        super().__init__()
        assert experts % members == 0, "experts must split evenly into ensemble members"
        self.experts_total = experts
        self.members = members
        self.group = experts // members
        assert 1 <= top_k <= self.group
        self.top_k = top_k
        # Router weights per member: block-diagonal gating over the experts.
        self.router = nn.Parameter(torch.randn(members, dim, self.group) * (dim ** -0.5) * 0.1)
        self.experts = nn.ModuleList([Mlp(dim, mlp_dim) for _ in range(experts)])
        # vmoe scales the router noise by the number of experts the router chooses among: E/M per member.
        self.noise_std = 1.0 / self.group
        self.importance_loss = torch.zeros(())
        self.load_loss = torch.zeros(())

    def forward(self, x):
        rows, tokens, dim = x.shape
        per_member = x.reshape(-1, self.members, tokens, dim)
        logits = torch.einsum("bmtd,mde->bmte", per_member, self.router)
        if self.training:
            noisy = logits + torch.randn_like(logits) * self.noise_std
        else:
            noisy = logits
        gates = torch.softmax(noisy, dim=-1)
        top_vals, top_idx = torch.topk(gates, self.top_k, dim=-1)
        if self.training:
            self.importance_loss = self._importance_loss(torch.softmax(logits, dim=-1))
            self.load_loss = self._load_loss(logits, noisy)
        # Global expert id = member offset + index inside the member's group.
        offsets = (torch.arange(self.members, device=x.device) * self.group).reshape(1, self.members, 1, 1)
        expert_ids = (top_idx + offsets).reshape(-1, self.top_k)
        weights = top_vals.reshape(-1, self.top_k)
        flat = x.reshape(-1, dim)
        out = torch.zeros_like(flat)
        for k in range(self.top_k):
            for e, expert in enumerate(self.experts):
                chosen = torch.nonzero(expert_ids[:, k] == e).squeeze(1)
                routed = flat.index_select(0, chosen)
                update = expert(routed) * weights.index_select(0, chosen)[:, k:k + 1]
                # Accumulating in place of a gather-add-scatter: the same sum (each row at most once per expert and k),
                # about 3 % less time per training step on one core; exported as ScatterND onto the running sum.
                out = out.index_put((chosen,), update, accumulate=True)
        return out.reshape(-1, tokens, dim)

    @staticmethod
    def _cv_squared(values):
        # Coefficient of variation squared over a group's experts (last axis), averaged over the member groups.
        mean = values.mean(dim=-1)
        var = values.var(dim=-1, unbiased=False)
        return (var / (mean * mean + 1e-10)).mean()

    def _importance_loss(self, clean_gates):
        # clean_gates: [B, M, T, G] softmax of the noise-free router logits; an expert's importance is the sum of its
        # gate values over the member's tokens (vmoe routing.py, _importance_auxiliary_loss).
        return self._cv_squared(clean_gates.sum(dim=(0, 2)))

    def _load_loss(self, clean, noisy):
        # vmoe routing.py, _load_auxiliary_loss (V-MoE, Riquelme et al. 2021, A.2.2): the threshold of a token is its
        # K-th largest noisy logit; p = P(clean logit + fresh noise > threshold) per token and expert; the loss is the
        # CV squared of p's mean over tokens, per member group.
        threshold = torch.topk(noisy, self.top_k, dim=-1).values[..., -1:]
        normal = torch.distributions.Normal(0.0, 1.0)
        prob = 1.0 - normal.cdf((threshold - clean) / self.noise_std)
        return self._cv_squared(prob.mean(dim=(0, 2)))


class Block(nn.Module):
    def __init__(self, arch: Architecture, moe: bool, members: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(arch.hidden)
        self.attn = Attention(arch.hidden, arch.heads)
        self.norm2 = nn.LayerNorm(arch.hidden)
        if moe:
            self.mlp = EnsembleMoe(arch.hidden, arch.mlp_dim, arch.experts, arch.top_k, members)
        else:
            self.mlp = Mlp(arch.hidden, arch.mlp_dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class VisionTransformer(nn.Module):
    """ViT / V-MoE / E3 on 28x28 grey images. Returns member logits [B, M, C] (M=1 for single models)."""

    def __init__(self, arch: Architecture):
        super().__init__()
        self.arch = arch
        members = arch.ensemble_size if arch.kind == "e3" else 1
        self.members = members
        c = arch.stem_channels
        # Small convolutional stem: a full-resolution 3x3 convolution, then stride-2 3x3 convolutions take 28x28 to a
        # 4x4 grid of tokens (each token has a 7x7-pixel stride); it keeps CPU training fast and converging in a few
        # epochs. The transformer, MoE and tiling that make the model E3 come after it, unchanged.
        self.stem = nn.Sequential(
            nn.Conv2d(arch.channels, c, 3, padding=1), nn.GELU(),
            nn.Conv2d(c, c, 3, stride=2, padding=1), nn.GELU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.GELU(),
        )
        self.patch_embed = nn.Conv2d(2 * c, arch.hidden, 3, stride=2, padding=1)
        self.pos = nn.Parameter(torch.randn(1, arch.tokens(), arch.hidden) * 0.02)
        moe = set(arch.moe_layers)
        self.first_moe = min(moe) if moe else None
        self.blocks = nn.ModuleList([Block(arch, i in moe, members) for i in range(arch.layers)])
        self.norm = nn.LayerNorm(arch.hidden)
        self.head = nn.Linear(arch.hidden, arch.num_classes)

    def forward(self, images):
        return self.head_logits(self.features(images))

    def features(self, images):
        """Pre-logit features per member [B, M, D]: the pooled, normalised tokens the shared head reads."""
        x = self.patch_embed(self.stem(images))
        x = x.flatten(2).transpose(1, 2) + self.pos
        for i, block in enumerate(self.blocks):
            if i == self.first_moe and self.members > 1:
                # Tile image-major (row b*M+m) with expand + reshape (repeat_interleave traces wrong over a dynamic batch).
                rows, tokens, dim = x.shape
                x = x.unsqueeze(1).expand(rows, self.members, tokens, dim).reshape(-1, tokens, dim)
            x = block(x)
        return self.norm(x).mean(dim=1).reshape(-1, self.members, self.arch.hidden)

    def head_logits(self, features):
        """Member logits [B, M, C] from pre-logit features [B, M, D]."""
        return self.head(features)

    def moe_layers(self):
        return [b.mlp for b in self.blocks if isinstance(b.mlp, EnsembleMoe)]

    def aux_losses(self):
        """(importance, load) summed over the MoE layers of the last training forward pass."""
        layers = self.moe_layers()
        if not layers:
            return torch.zeros(()), torch.zeros(())
        return sum(l.importance_loss for l in layers), sum(l.load_loss for l in layers)


class DeepEnsemble(nn.Module):
    """Independently trained single models stacked into one graph: member logits [B, M, C]."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, images):
        return torch.cat([m(images) for m in self.members], dim=1)

    def features(self, images):
        """Pre-logit features [B, M, D]: each member model's own features, concatenated in member order."""
        return torch.cat([m.features(images) for m in self.members], dim=1)

    def head_logits(self, features):
        """Member logits [B, M, C] from features [B, M, D]: each member's slice through that member's own head."""
        out, start = [], 0
        for m in self.members:
            out.append(m.head_logits(features[:, start:start + m.members]))
            start += m.members
        return torch.cat(out, dim=1)


def flops_per_image(arch: Architecture) -> int:
    """FLOPs of one image's forward pass = 2 x multiply-accumulates of every convolution, linear layer and attention
    matmul (norms, activations, softmax and biases are not counted). MoE layers count the router plus K experts per
    token (sparse dispatch). Layers from the first MoE layer on run once per ensemble member (E3 tiling); a deep
    ensemble runs every member whole. Mirrored by e3stream.runtime.model.FlopsFormula (unit-tested in Java)."""
    members = arch.ensemble_size
    single = Architecture(**{**arch.to_json(), "kind": "vmoe" if arch.experts else "vit", "ensemble_size": 1}) \
        if arch.kind == "deep_ensemble" else arch
    s0 = single.image_size
    s1 = -(-s0 // 2)
    s2 = -(-s1 // 2)
    c = single.stem_channels
    stem = 2 * 9 * (s0 * s0 * c * single.channels + s1 * s1 * c * c + s2 * s2 * 2 * c * c)
    t, d, f = single.tokens(), single.hidden, single.mlp_dim
    embed = 2 * t * 2 * c * d * 9
    attention = 2 * (t * d * 3 * d + 2 * t * t * d + t * d * d)
    mlp = 2 * t * 2 * d * f
    moe_layers = set(single.moe_layers)
    group = single.experts // single.ensemble_size if single.experts else 0
    tiled = single.ensemble_size if single.kind == "e3" else 1
    first_moe = min(moe_layers) if moe_layers else single.layers
    total = stem + embed
    for i in range(single.layers):
        if i in moe_layers:
            layer = attention + 2 * t * d * group + single.top_k * mlp
        else:
            layer = attention + mlp
        total += layer * (tiled if i >= first_moe else 1)
    total += 2 * d * single.num_classes * tiled
    return total * members if arch.kind == "deep_ensemble" else total
