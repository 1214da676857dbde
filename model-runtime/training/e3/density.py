"""A second epistemic signal beyond E3: a class-conditional Gaussian density of the members' pre-logit features.

DDU-style (Mukhoti et al., "Deep Deterministic Uncertainty"): after training, per ensemble member m and class c, fit a
Gaussian N(mu_mc, Sigma_mc) to the member's pre-logit features ([B, M, D], `features()` of the model) of the training
images of class c (no augmentation, eval mode). A member's log density of features f is the mixture

    log p_m(f) = logsumexp_c [ log pi_c + log N(f; mu_mc, Sigma_mc) ]      (pi_c: training class frequencies)

and the members are combined by the mean of their log densities: feature_log_density = mean_m log p_m(f), one value
per image. Low values mean the features lie where no training image's features were: an unfamiliar input.

- Covariance: "shared" (tied: the pooled within-class covariance of member m, one matrix for all classes, as in LDA)
  or "per_class" (one matrix per class, as DDU's GDA). Both are maximum-likelihood estimates (divided by the count).
- Jitter: relative_jitter x (mean diagonal of member m's pooled within-class covariance) is added to the diagonal of
  every covariance of member m before its Cholesky factorisation, for numerical stability (DDU adds the smallest
  jitter that lets the factorisation succeed; a fixed relative one keeps the fit reproducible and scale-free). Should a
  factorisation still fail, that member's jitter is multiplied by 10 until it succeeds; the value used is recorded.
- Choice between the two (`select`): the higher mean log density of held-out VALIDATION images (held-out likelihood,
  label-free: no test images and no unfamiliar data take part in the choice).

In the ONNX graph everything data-dependent is precomputed into constants (DensityModel buffers): the means (as a
float32 hi + lo pair), the
whitening matrices W_mc = L_mc^-1 (L_mc the Cholesky factor of Sigma_mc, so ||W_mc (f - mu_mc)||^2 is the Mahalanobis
distance) and log_norm_mc = log pi_c - 1/2 log det Sigma_mc - D/2 log 2 pi. The graph only subtracts, multiplies by W,
sums squares and takes a max-shifted logsumexp, in float32; `log_density` is the float64 numpy reference.
"""
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

RELATIVE_JITTER = 1e-4
COVARIANCES = ("shared", "per_class")
MAX_JITTER_RETRIES = 12
SELECTION_RULE = ("higher mean log density of the validation images (held-out likelihood); "
                  "neither test images nor unfamiliar data take part")


@dataclass
class GaussianFit:
    """Maximum-likelihood statistics of member features per class (float64)."""
    means: np.ndarray        # [M, C, D]
    class_cov: np.ndarray    # [M, C, D, D]
    shared_cov: np.ndarray   # [M, D, D] pooled within-class covariance
    priors: np.ndarray       # [C] training class frequencies
    counts: np.ndarray       # [C]


@dataclass
class Density:
    """What the graph needs for one covariance choice (float64; DensityModel stores them as float32 buffers)."""
    covariance: str          # "shared" | "per_class"
    means: np.ndarray        # [M, C, D]
    whitening: np.ndarray    # [M, C, D, D] W_mc = L_mc^-1, so W_mc Sigma_mc W_mc^T = I
    log_norm: np.ndarray     # [M, C] log pi_c - 1/2 log det Sigma_mc - D/2 log 2 pi
    jitter: np.ndarray       # [M] absolute jitter added to the covariance diagonals of each member
    relative_jitter: float

    @property
    def members(self):
        return self.means.shape[0]

    @property
    def feature_dim(self):
        return self.means.shape[2]


def fit(features, labels, classes):
    """Per member and class, the mean and covariance of features [N, M, D] (float64) for labels [N] in 0..classes-1."""
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    n, members, dim = features.shape
    counts = np.bincount(labels, minlength=classes)
    if counts.min() < 2:
        raise ValueError(f"every class needs at least 2 training images, got counts {counts.tolist()}")
    means = np.zeros((members, classes, dim))
    class_cov = np.zeros((members, classes, dim, dim))
    for c in range(classes):
        f = features[labels == c]                       # [n_c, M, D]
        means[:, c] = f.mean(axis=0)
        centred = f - means[:, c][None]
        class_cov[:, c] = np.einsum("nmd,nme->mde", centred, centred) / len(f)
    shared_cov = np.einsum("c,mcde->mde", counts / n, class_cov)
    return GaussianFit(means=means, class_cov=class_cov, shared_cov=shared_cov, priors=counts / n, counts=counts)


def build(gaussians, covariance, relative_jitter=RELATIVE_JITTER):
    """The constants of the density for covariance "shared" or "per_class"."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    members, classes, dim = gaussians.means.shape
    whitening = np.zeros((members, classes, dim, dim))
    log_det = np.zeros((members, classes))
    jitter = np.zeros(members)
    for m in range(members):
        covs = gaussians.class_cov[m] if covariance == "per_class" else \
            np.repeat(gaussians.shared_cov[m][None], classes, axis=0)
        jitter[m] = relative_jitter * float(np.mean(np.diag(gaussians.shared_cov[m])))
        if not jitter[m] > 0:
            jitter[m] = relative_jitter  # degenerate (constant) features: an absolute jitter
        for attempt in range(MAX_JITTER_RETRIES + 1):
            try:
                chol = np.linalg.cholesky(covs + jitter[m] * np.eye(dim)[None])  # [C, D, D] lower
                break
            except np.linalg.LinAlgError:
                if attempt == MAX_JITTER_RETRIES:
                    raise
                jitter[m] *= 10.0
        whitening[m] = np.linalg.inv(chol)
        log_det[m] = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(-1)
    log_norm = np.log(gaussians.priors)[None] - 0.5 * log_det - 0.5 * dim * np.log(2.0 * np.pi)
    return Density(covariance=covariance, means=gaussians.means.copy(), whitening=whitening, log_norm=log_norm,
                   jitter=jitter, relative_jitter=relative_jitter)


def member_log_density(density, features, batch=2000):
    """log p_m(f) per member [N, M] in float64 for features [N, M, D]."""
    features = np.asarray(features, dtype=np.float64)
    out = []
    for i in range(0, len(features), batch):
        diff = features[i:i + batch, :, None, :] - density.means[None]           # [n, M, C, D]
        z = np.einsum("nmcd,mced->nmce", diff, density.whitening)
        log_comp = density.log_norm[None] - 0.5 * (z * z).sum(-1)               # [n, M, C]
        top = log_comp.max(-1, keepdims=True)
        out.append(top[..., 0] + np.log(np.exp(log_comp - top).sum(-1)))
    return np.concatenate(out) if out else np.zeros((0, density.members))


def log_density(density, features):
    """feature_log_density [N] (float64): the mean over members of the members' log densities."""
    return member_log_density(density, features).mean(axis=1)


def select(gaussians, validation_features, relative_jitter=RELATIVE_JITTER):
    """Build both covariance choices; keep the one with the higher mean validation log density.
    Returns (density, {covariance: mean validation log density})."""
    built = {c: build(gaussians, c, relative_jitter) for c in COVARIANCES}
    scores = {c: float(log_density(d, validation_features).mean()) for c, d in built.items()}
    best = max(COVARIANCES, key=lambda c: (scores[c], c == "shared"))  # a tie keeps the simpler shared covariance
    return built[best], scores


class DensityModel(nn.Module):
    """Wraps a model with features()/head_logits(): forward(images) -> (member_logits [B,M,C], feature_log_density [B]).

    Inference only: train() always leaves every submodule in eval mode (no gating noise), whatever torch.onnx.export or
    a caller restores, so exported graphs and golden outputs never see training-mode routing."""

    def __init__(self, model, density):
        super().__init__()
        self.model = model
        # Means as a float32 pair hi + lo (hi the float32 rounding, lo what it missed): (f - hi) - lo is accurate to
        # float32 relative to f - mu itself, not to |mu|, which matters in low-variance feature directions.
        hi = density.means.astype(np.float32)
        self.register_buffer("means_hi", torch.from_numpy(hi))
        self.register_buffer("means_lo", torch.from_numpy((density.means - hi.astype(np.float64)).astype(np.float32)))
        # Stored transposed so the graph does diff @ W^T: [.., 1, D] @ [D, D].
        self.register_buffer("whitening_t", torch.tensor(density.whitening.transpose(0, 1, 3, 2).copy(),
                                                         dtype=torch.float32))
        self.register_buffer("log_norm", torch.tensor(density.log_norm, dtype=torch.float32))
        self.eval()

    def train(self, mode=True):
        return super().train(False)

    def log_density(self, features):
        """feature_log_density [B] from member features [B, M, D] (float32, the graph's computation)."""
        diff = (features.unsqueeze(2) - self.means_hi) - self.means_lo            # [B, M, C, D]
        z = torch.matmul(diff.unsqueeze(-2), self.whitening_t).squeeze(-2)        # [B, M, C, D]
        log_comp = self.log_norm - 0.5 * (z * z).sum(-1)                          # [B, M, C]
        top = log_comp.max(dim=-1, keepdim=True).values
        member = top.squeeze(-1) + torch.log(torch.exp(log_comp - top).sum(-1))   # [B, M]
        return member.mean(dim=1)

    def forward(self, images):
        features = self.model.features(images)
        return self.model.head_logits(features), self.log_density(features)


def max_relative_error(values, reference):
    """max |values - reference| / max(1, |reference|): float32 graph against the float64 reference."""
    values, reference = np.asarray(values, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    return float((np.abs(values - reference) / np.maximum(1.0, np.abs(reference))).max()) if len(reference) else 0.0


def summary(values, levels=(0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999)):
    """Mean, standard deviation and quantiles of log densities (model.json density.validation)."""
    values = np.asarray(values, dtype=np.float64)
    return {"count": int(len(values)), "mean": float(values.mean()), "std": float(values.std()),
            "quantile_levels": list(levels), "quantiles": np.quantile(values, levels).tolist()}


def manifest(density, selection, validation_values, float32_error=None):
    """The model.json `density` section."""
    out = {"kind": "class_conditional_gaussian", "covariance": density.covariance, "fit_split": "train",
           "features": "pre-logit features of each member (the pooled, normalised tokens the head reads), eval mode, "
                       "no augmentation",
           "members_combined": "mean of member log densities", "output": "feature_log_density",
           "mixture": "logsumexp over classes of log pi_c + log N(f; mu_c, Sigma_c), pi_c the training class "
                      "frequencies",
           "jitter": {"relative": density.relative_jitter,
                      "relative_to": "mean diagonal of the member's pooled within-class covariance",
                      "absolute": density.jitter.tolist()},
           "feature_dim": int(density.feature_dim), "members": int(density.members),
           "selection": {"split": "validation", "rule": SELECTION_RULE,
                         "mean_validation_log_density": selection},
           "validation": summary(validation_values)}
    if float32_error is not None:
        out["float32_graph_max_relative_error"] = float32_error
    return out
