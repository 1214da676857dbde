"""What makes the model E3 (docs/design.md, 'The model'), checked on small random models.

    cd model-runtime/training && python3 -m unittest discover -s tests -v
"""
import os
import sys
import unittest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e3.model import Architecture, DeepEnsemble, EnsembleMoe, VisionTransformer, flops_per_image, last_odd_layers  # noqa: E402
from e3 import specs  # noqa: E402


def e3_arch(n=1, **kw):
    base = dict(kind="e3", layers=6, hidden=16, heads=2, mlp_dim=32, patch=7, stem_channels=4, experts=8, top_k=1,
                ensemble_size=2, moe_layers=last_odd_layers(6, n))
    base.update(kw)
    return Architecture(**base)


class LayoutTest(unittest.TestCase):
    def test_moe_sits_in_the_last_n_odd_layers(self):
        self.assertEqual(last_odd_layers(6, 1), [5])
        self.assertEqual(last_odd_layers(6, 2), [3, 5])
        self.assertEqual(last_odd_layers(8, 2), [5, 7])

    def test_layers_before_the_first_moe_run_once_per_image_and_the_rest_once_per_member(self):
        torch.manual_seed(0)
        model = VisionTransformer(e3_arch(n=2)).eval()
        rows = {}
        for i, block in enumerate(model.blocks):
            block.register_forward_hook(lambda mod, inp, out, i=i: rows.__setitem__(i, inp[0].shape[0]))
        model(torch.randn(5, 1, 28, 28))
        self.assertEqual(rows, {0: 5, 1: 5, 2: 5, 3: 10, 4: 10, 5: 10})

    def test_tiling_is_image_major(self):
        torch.manual_seed(0)
        model = VisionTransformer(e3_arch(n=1)).eval()
        seen = {}
        model.blocks[5].register_forward_hook(lambda mod, inp, out: seen.setdefault("x", inp[0]))
        model.blocks[4].register_forward_hook(lambda mod, inp, out: seen.setdefault("before", out))
        images = torch.randn(3, 1, 28, 28)
        model(images)
        tiled, before = seen["x"], seen["before"]
        for b in range(3):
            for m in range(2):
                self.assertTrue(torch.equal(tiled[b * 2 + m], before[b]))

    def test_output_is_member_logits(self):
        model = VisionTransformer(e3_arch()).eval()
        self.assertEqual(tuple(model(torch.randn(4, 1, 28, 28)).shape), (4, 2, 10))
        single = VisionTransformer(e3_arch(kind="vmoe", ensemble_size=1, top_k=2)).eval()
        self.assertEqual(tuple(single(torch.randn(4, 1, 28, 28)).shape), (4, 1, 10))


class RoutingTest(unittest.TestCase):
    def routed_experts(self, layer, x):
        """Which global experts each row's tokens were dispatched to."""
        hits = {}
        for e, expert in enumerate(layer.experts):
            expert.register_forward_hook(lambda mod, inp, out, e=e: hits.setdefault(e, inp[0].detach().clone()))
        layer(x)
        return hits

    def test_each_member_routes_only_inside_its_own_expert_group(self):
        torch.manual_seed(1)
        layer = EnsembleMoe(dim=16, mlp_dim=32, experts=8, top_k=1, members=2).eval()
        x = torch.randn(6 * 2, 4, 16)  # 6 images x 2 members, 4 tokens
        # Make member 1's rows distinguishable: they are shifted by a large constant in the last feature.
        x[1::2, :, -1] += 100.0
        hits = self.routed_experts(layer, x)
        for e, tokens in hits.items():
            if len(tokens) == 0:
                continue
            member = e // 4
            if member == 0:
                self.assertTrue(bool((tokens[:, -1] < 50).all()), f"expert {e} got member-1 tokens")
            else:
                self.assertTrue(bool((tokens[:, -1] > 50).all()), f"expert {e} got member-0 tokens")

    def test_routers_are_block_diagonal_per_member(self):
        layer = EnsembleMoe(dim=16, mlp_dim=32, experts=8, top_k=1, members=2)
        self.assertEqual(tuple(layer.router.shape), (2, 16, 4))

    def test_sparse_dispatch_equals_dense_computation_with_the_same_routing(self):
        torch.manual_seed(2)
        for top_k, members in ((1, 2), (2, 1), (1, 1)):
            layer = EnsembleMoe(dim=16, mlp_dim=32, experts=8, top_k=top_k, members=members).eval()
            x = torch.randn(3 * members, 5, 16)
            sparse = layer(x)
            # Dense reference: every expert on every token, then keep the top-k gates of the member's own group.
            per_member = x.reshape(-1, members, 5, 16)
            gates = torch.softmax(torch.einsum("bmtd,mde->bmte", per_member, layer.router), dim=-1)
            vals, idx = torch.topk(gates, top_k, dim=-1)
            dense_all = torch.stack([expert(per_member) for expert in layer.experts], dim=-2)  # [b,m,t,E,d]
            out = torch.zeros_like(per_member)
            group = 8 // members
            for k in range(top_k):
                for m in range(members):
                    chosen = idx[:, m, :, k] + m * group
                    picked = torch.gather(dense_all[:, m], 2, chosen[..., None, None].expand(-1, -1, 1, 16))[:, :, 0]
                    out[:, m] += vals[:, m, :, k, None] * picked
            self.assertTrue(torch.allclose(sparse, out.reshape(-1, 5, 16), atol=1e-5))

    def test_training_adds_noise_and_auxiliary_losses(self):
        torch.manual_seed(3)
        model = VisionTransformer(e3_arch(n=2)).train()
        out = model(torch.randn(8, 1, 28, 28))
        importance, load = model.aux_losses()
        self.assertGreater(float(importance), 0.0)
        self.assertGreater(float(load), 0.0)
        aux = 0.005 * importance + 0.005 * load
        (F.cross_entropy(out.reshape(-1, 10), torch.zeros(16, dtype=torch.long)) + aux).backward()
        self.assertIsNotNone(model.blocks[5].mlp.router.grad)
        self.assertGreater(float(model.blocks[5].mlp.router.grad.abs().sum()), 0.0)


class AuxiliaryLossTest(unittest.TestCase):
    def test_noise_std_is_one_over_the_experts_per_group(self):
        self.assertAlmostEqual(EnsembleMoe(16, 32, experts=8, top_k=1, members=2).noise_std, 1 / 4)
        self.assertAlmostEqual(EnsembleMoe(16, 32, experts=8, top_k=2, members=1).noise_std, 1 / 8)

    def test_importance_loss_is_zero_for_uniform_gates_and_per_group(self):
        layer = EnsembleMoe(16, 32, experts=8, top_k=1, members=2)
        uniform = torch.full((3, 2, 5, 4), 0.25)
        self.assertAlmostEqual(float(layer._importance_loss(uniform)), 0.0, places=6)
        # Member 0 sends everything to its first expert: CV^2 of [15, 0, 0, 0] is 3; member 1 balanced: 0; mean 1.5.
        skewed = uniform.clone()
        skewed[:, 0] = torch.tensor([1.0, 0.0, 0.0, 0.0])
        self.assertAlmostEqual(float(layer._importance_loss(skewed)), 1.5, places=5)

    def test_load_loss_follows_the_probability_of_winning_under_fresh_noise(self):
        layer = EnsembleMoe(16, 32, experts=4, top_k=1, members=1)
        # One token, clean logits equal: each expert's noisy logit vs the threshold (the top noisy logit).
        clean = torch.zeros(1, 1, 1, 4)
        noisy = torch.tensor([[[[0.5, 0.0, 0.0, 0.0]]]])
        p = 1 - torch.distributions.Normal(0.0, 1.0).cdf(torch.tensor(0.5 / layer.noise_std))
        expected = torch.full((4,), float(p))
        mean, var = expected.mean(), expected.var(unbiased=False)
        self.assertAlmostEqual(float(layer._load_loss(clean, noisy)), float(var / mean ** 2), places=6)
        # Clean logits far apart: only the best expert can win, the loss is the CV^2 of [p, 0, 0, 0] = 3.
        clean = torch.tensor([[[[10.0, -10.0, -10.0, -10.0]]]])
        self.assertAlmostEqual(float(layer._load_loss(clean, clean)), 3.0, places=4)


class FlopsTest(unittest.TestCase):
    def test_formula_by_hand_for_a_dense_model(self):
        arch = Architecture(kind="vit", layers=1, hidden=4, heads=1, mlp_dim=8, patch=7, stem_channels=2)
        stem = 2 * 9 * (28 * 28 * 2 * 1 + 14 * 14 * 2 * 2 + 7 * 7 * 4 * 2)
        embed = 2 * 16 * 4 * 4 * 9
        attention = 2 * (16 * 4 * 12 + 2 * 16 * 16 * 4 + 16 * 4 * 4)
        mlp = 2 * 16 * 2 * 4 * 8
        head = 2 * 4 * 10
        self.assertEqual(flops_per_image(arch), stem + embed + attention + mlp + head)

    def test_e3_tiles_only_from_the_first_moe_layer(self):
        dense = Architecture(kind="vit", **specs.BASE)
        e3 = specs.RUNS["e3"][0]
        ensemble = Architecture(**dict(specs.RUNS["vmoe-k1-s1"][0].to_json(), kind="deep_ensemble", ensemble_size=2))
        vmoe = specs.RUNS["vmoe-k1-s1"][0]
        self.assertEqual(flops_per_image(ensemble), 2 * flops_per_image(vmoe))
        self.assertLess(flops_per_image(e3), 2 * flops_per_image(dense))
        # The shipped E3 (n=2, tiled before block 5 of 8) must cost at least 40% less than the deep ensemble of two V-MoEs.
        self.assertLessEqual(flops_per_image(e3), 0.6 * flops_per_image(ensemble))


class DeepEnsembleTest(unittest.TestCase):
    def test_members_are_stacked_in_order(self):
        torch.manual_seed(4)
        a = VisionTransformer(e3_arch(kind="vit", experts=0, top_k=0, ensemble_size=1, moe_layers=[])).eval()
        b = VisionTransformer(e3_arch(kind="vit", experts=0, top_k=0, ensemble_size=1, moe_layers=[])).eval()
        x = torch.randn(3, 1, 28, 28)
        out = DeepEnsemble([a, b])(x)
        self.assertTrue(torch.equal(out[:, 0], a(x)[:, 0]))
        self.assertTrue(torch.equal(out[:, 1], b(x)[:, 1 - 1]))


if __name__ == "__main__":
    unittest.main()
