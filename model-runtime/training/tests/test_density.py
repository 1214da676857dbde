"""The feature-density output (e3/density.py, export.py): graph against a float64 reference, shape of the density,
covariance choice, and the exported ONNX graph's two outputs with a dynamic batch axis. Small random models.

    cd model-runtime/training && python3 -m unittest discover -s tests -v
"""
import os
import sys
import tempfile
import unittest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import export  # noqa: E402
from e3 import density as gaussian  # noqa: E402
from e3.model import Architecture, DeepEnsemble, VisionTransformer, last_odd_layers  # noqa: E402


def tiny_arch(kind="e3", n=1, **kw):
    base = dict(kind=kind, layers=4, hidden=8, heads=2, mlp_dim=16, patch=7, stem_channels=4, experts=4, top_k=1,
                ensemble_size=2, moe_layers=last_odd_layers(4, n), num_classes=3)
    if kind == "vit":
        base.update(experts=0, top_k=0, ensemble_size=1, moe_layers=[])
    elif kind == "vmoe":
        base.update(ensemble_size=1)
    base.update(kw)
    return Architecture(**base)


def reference_log_density(features, labels, classes, covariance, relative_jitter, queries):
    """Written out directly in float64: per member, ML means and covariances, jitter on the diagonal, the Gaussian
    mixture over classes with the class frequencies as weights; then the mean over members."""
    n, members, dim = features.shape
    priors = np.bincount(labels, minlength=classes) / n
    out = np.zeros((len(queries), members))
    for m in range(members):
        f = features[:, m]
        means = [f[labels == c].mean(0) for c in range(classes)]
        covs = [np.cov(f[labels == c].T, bias=True) for c in range(classes)]
        pooled = sum(priors[c] * covs[c] for c in range(classes))
        jitter = relative_jitter * np.trace(pooled) / dim
        for i, x in enumerate(queries[:, m]):
            terms = []
            for c in range(classes):
                cov = (covs[c] if covariance == "per_class" else pooled) + jitter * np.eye(dim)
                d = x - means[c]
                sign, logdet = np.linalg.slogdet(cov)
                assert sign > 0
                terms.append(np.log(priors[c]) - 0.5 * d @ np.linalg.solve(cov, d) - 0.5 * logdet
                             - 0.5 * dim * np.log(2 * np.pi))
            out[i, m] = np.logaddexp.reduce(terms)
    return out.mean(axis=1)


class Fixture:
    def __init__(self, model, seed=0, n=120, classes=3):
        torch.manual_seed(seed)
        rng = np.random.RandomState(seed)
        self.model = model.eval()
        self.images = torch.randn(n, 1, 28, 28)
        self.labels = np.arange(n) % classes
        rng.shuffle(self.labels)
        with torch.no_grad():
            self.features = self.model.features(self.images).numpy().astype(np.float64)
        self.fit = gaussian.fit(self.features, self.labels, classes)


class GraphAgainstReferenceTest(unittest.TestCase):
    def check(self, model, classes=3):
        fx = Fixture(model, classes=classes)
        queries = torch.randn(9, 1, 28, 28) * 1.5
        for covariance in gaussian.COVARIANCES:
            density = gaussian.build(fx.fit, covariance)
            wrapper = gaussian.DensityModel(model, density)
            with torch.no_grad():
                logits, graph = wrapper(queries)
                query_features = model.features(queries).numpy().astype(np.float64)
                plain = model(queries)
            expected = reference_log_density(fx.features, fx.labels, classes, covariance,
                                             gaussian.RELATIVE_JITTER, query_features)
            self.assertEqual(tuple(graph.shape), (9,))
            np.testing.assert_allclose(gaussian.log_density(density, query_features), expected, rtol=1e-9)
            self.assertLess(gaussian.max_relative_error(graph.numpy(), expected), 1e-4)
            # The first output is still exactly the model's member logits.
            self.assertTrue(torch.equal(logits, plain))

    def test_e3_members_share_a_head_but_have_their_own_density(self):
        torch.manual_seed(1)
        self.check(VisionTransformer(tiny_arch("e3")))

    def test_single_model(self):
        torch.manual_seed(2)
        self.check(VisionTransformer(tiny_arch("vmoe", top_k=2)))

    def test_deep_ensemble_concatenates_member_features(self):
        torch.manual_seed(3)
        a, b = VisionTransformer(tiny_arch("vit")).eval(), VisionTransformer(tiny_arch("vit")).eval()
        ensemble = DeepEnsemble([a, b]).eval()
        x = torch.randn(4, 1, 28, 28)
        with torch.no_grad():
            feats = ensemble.features(x)
            self.assertTrue(torch.equal(feats[:, 0], a.features(x)[:, 0]))
            self.assertTrue(torch.equal(feats[:, 1], b.features(x)[:, 0]))
            self.assertTrue(torch.equal(ensemble.head_logits(feats), ensemble(x)))
        self.check(ensemble)

    def test_fit_is_the_maximum_likelihood_estimate(self):
        fx = Fixture(VisionTransformer(tiny_arch("e3")))
        for m in range(2):
            for c in range(3):
                f = fx.features[fx.labels == c, m]
                np.testing.assert_allclose(fx.fit.means[m, c], f.mean(0), rtol=1e-10, atol=1e-12)
                np.testing.assert_allclose(fx.fit.class_cov[m, c], np.cov(f.T, bias=True), rtol=1e-8, atol=1e-12)
        np.testing.assert_allclose(fx.fit.priors, [1 / 3] * 3)


class DensityShapeTest(unittest.TestCase):
    def test_a_class_mean_is_denser_than_a_point_far_away(self):
        fx = Fixture(VisionTransformer(tiny_arch("e3")))
        for covariance in gaussian.COVARIANCES:
            density = gaussian.build(fx.fit, covariance)
            wrapper = gaussian.DensityModel(fx.model, density)
            spread = np.sqrt(np.diagonal(fx.fit.shared_cov, axis1=1, axis2=2))  # [M, D]
            for c in range(3):
                at_mean = fx.fit.means[:, c][None]                            # [1, M, D]
                far = at_mean + 20.0 * spread[None]
                near, away = gaussian.log_density(density, np.concatenate([at_mean, far]))
                self.assertGreater(near, away + 10.0)
                with torch.no_grad():
                    graph = wrapper.log_density(torch.tensor(np.concatenate([at_mean, far]), dtype=torch.float32))
                self.assertGreater(float(graph[0]), float(graph[1]) + 10.0)

    def test_jitter_makes_degenerate_covariances_factorisable(self):
        rng = np.random.RandomState(0)
        # 3 images per class in 8 dimensions: every class covariance is singular.
        feats = rng.randn(9, 1, 8)
        labels = np.repeat(np.arange(3), 3)
        density = gaussian.build(gaussian.fit(feats, labels, 3), "per_class")
        self.assertTrue(np.isfinite(gaussian.log_density(density, feats)).all())
        self.assertGreater(density.jitter[0], 0)

    def test_selection_keeps_the_higher_validation_likelihood(self):
        rng = np.random.RandomState(1)
        classes, dim = 3, 4

        def sample(n):
            labels = np.arange(n) % classes
            scale = np.array([0.1, 1.0, 10.0])[labels][:, None]   # very different class spreads
            return (rng.randn(n, 1, dim) * scale[:, :, None] + 5.0 * labels[:, None, None]), labels

        train, train_y = sample(3000)
        val, _ = sample(600)
        chosen, scores = gaussian.select(gaussian.fit(train, train_y, classes), val)
        self.assertEqual(chosen.covariance, "per_class")
        self.assertGreater(scores["per_class"], scores["shared"])
        for covariance, score in scores.items():
            built = gaussian.build(gaussian.fit(train, train_y, classes), covariance)
            self.assertAlmostEqual(score, float(gaussian.log_density(built, val).mean()), places=8)

        # Same spread everywhere and few images per class in 12 dimensions: the tied covariance generalises better.
        dim = 12
        labels = np.arange(3 * 16) % classes
        train = rng.randn(len(labels), 1, dim) + 3.0 * labels[:, None, None]
        val = rng.randn(300, 1, dim) + 3.0 * (np.arange(300) % classes)[:, None, None]
        chosen, scores = gaussian.select(gaussian.fit(train, labels, classes), val)
        self.assertEqual(chosen.covariance, "shared")

    def test_wrapper_never_enters_training_mode(self):
        torch.manual_seed(4)
        model = VisionTransformer(tiny_arch("e3", n=2))
        fx = Fixture(model)
        wrapper = gaussian.DensityModel(model, gaussian.build(fx.fit, "shared"))
        wrapper.train()
        self.assertFalse(any(m.training for m in wrapper.modules()))
        x = torch.randn(5, 1, 28, 28)
        with torch.no_grad():
            first, second = wrapper(x), wrapper(x)
        self.assertTrue(torch.equal(first[0], second[0]) and torch.equal(first[1], second[1]))


class OnnxExportTest(unittest.TestCase):
    def exported(self, module, with_density):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.onnx")
            graph = export.export_onnx(module, path, torch.randn(2, 1, 28, 28), with_density)
            import onnx
            inferred = onnx.shape_inference.infer_shapes(onnx.load(path), strict_mode=True)
            onnx.checker.check_model(inferred)
            return graph, inferred

    @staticmethod
    def dims(value_info):
        return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]

    def test_both_outputs_with_a_dynamic_batch(self):
        torch.manual_seed(5)
        model = VisionTransformer(tiny_arch("e3", n=2))
        fx = Fixture(model)
        wrapper = gaussian.DensityModel(model, gaussian.build(fx.fit, "per_class"))
        wrapper.model.train()  # whatever a caller left behind, the export must trace eval mode
        graph, inferred = self.exported(wrapper, True)
        import onnx
        outputs = {o.name: o for o in inferred.graph.output}
        self.assertEqual([o.name for o in graph.graph.output], ["member_logits", "feature_log_density"])
        self.assertEqual(self.dims(inferred.graph.input[0]), ["batch", 1, 28, 28])
        self.assertEqual(self.dims(outputs["member_logits"]), ["batch", 2, 3])
        self.assertEqual(self.dims(outputs["feature_log_density"]), ["batch"])
        for o in outputs.values():
            self.assertEqual(o.type.tensor_type.elem_type, onnx.TensorProto.FLOAT)
        ops = {n.op_type for n in graph.graph.node}
        self.assertIn("NonZero", ops)  # sparse expert dispatch survives the wrapper
        self.assertIn("MatMul", ops)
        self.assertFalse(any(m.training for m in wrapper.modules()))
        try:
            from onnx.reference import ReferenceEvaluator
        except ImportError:  # onnx < 1.13 (Debian 12 ships 1.12): no reference evaluator; checker + shapes only
            return
        x = np.random.RandomState(0).randn(3, 1, 28, 28).astype(np.float32)
        logits, dens = ReferenceEvaluator(graph).run(None, {"images": x})
        with torch.no_grad():
            want_logits, want_dens = wrapper(torch.from_numpy(x))
        np.testing.assert_allclose(logits, want_logits.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(dens, want_dens.numpy(), rtol=1e-4, atol=1e-4)

    def test_a_bundle_without_density_keeps_one_output(self):
        torch.manual_seed(6)
        graph, inferred = self.exported(VisionTransformer(tiny_arch("vit")), False)
        self.assertEqual([o.name for o in graph.graph.output], ["member_logits"])
        self.assertEqual(self.dims(inferred.graph.output[0]), ["batch", 1, 3])


class ReportingTest(unittest.TestCase):
    def test_auroc_counts_ties_as_one_half(self):
        rng = np.random.RandomState(2)
        a, b = rng.randint(0, 5, 40).astype(float), rng.randint(1, 6, 30).astype(float)
        brute = np.mean([(y > x) + 0.5 * (y == x) for x in a for y in b])
        self.assertAlmostEqual(export.auroc(a, b), brute, places=12)
        self.assertEqual(export.auroc([0, 1], [2, 3]), 1.0)

    def test_density_section_and_reference_signal(self):
        fx = Fixture(VisionTransformer(tiny_arch("e3")))
        density, scores = gaussian.select(fx.fit, fx.features)
        values = gaussian.log_density(density, fx.features)
        section = gaussian.manifest(density, scores, values, 1e-6)
        self.assertEqual(section["kind"], "class_conditional_gaussian")
        self.assertIn(section["covariance"], ("shared", "per_class"))
        self.assertEqual(section["output"], "feature_log_density")
        self.assertEqual(section["fit_split"], "train")
        self.assertEqual(section["feature_dim"], 8)
        self.assertEqual(len(section["validation"]["quantiles"]), len(section["validation"]["quantile_levels"]))
        self.assertTrue(np.all(np.diff(section["validation"]["quantiles"]) >= 0))
        ref = export.reference_signal(values)
        self.assertEqual(set(ref), {"edges", "fractions", "quantiles"})
        self.assertEqual(len(ref["fractions"]), len(ref["edges"]) + 1)
        self.assertAlmostEqual(sum(ref["fractions"]), 1.0)


if __name__ == "__main__":
    unittest.main()
