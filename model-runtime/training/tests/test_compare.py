"""The validation-only comparison that chooses the shipped e3: its unfamiliar images and cross-fitted figures.

    cd model-runtime/training && python3 -m unittest discover -s tests -v
"""
import os
import sys
import unittest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import compare_on_validation as compare  # noqa: E402


def patches(image):
    side = image.shape[0] // compare.PATCH
    return sorted(image[r * 7:(r + 1) * 7, c * 7:(c + 1) * 7].tobytes() for r in range(side) for c in range(side))


class UnfamiliarVersionsTest(unittest.TestCase):
    def setUp(self):
        self.images = np.random.RandomState(3).randint(0, 256, size=(20, 28, 28)).astype(np.uint8)
        self.versions = compare.unfamiliar_versions(self.images)

    def test_patch_shuffling_moves_whole_patches_and_keeps_every_one(self):
        shuffled = self.versions["patch_shuffled"]
        self.assertEqual(shuffled.shape, self.images.shape)
        for original, moved in zip(self.images, shuffled):
            self.assertEqual(patches(original), patches(moved))
        self.assertFalse(np.array_equal(shuffled, self.images))

    def test_rotation_and_inversion(self):
        np.testing.assert_array_equal(self.versions["rotated"][0], np.rot90(self.images[0]))
        np.testing.assert_array_equal(self.versions["inverted"].astype(int), 255 - self.images.astype(int))


class RenderedLettersTest(unittest.TestCase):
    def test_letters_are_drawn_like_mnist_digits_and_the_same_on_every_call(self):
        letters = compare.rendered_letters(200)
        self.assertEqual(letters.shape, (200, 28, 28))
        self.assertEqual(letters.dtype, np.uint8)
        np.testing.assert_array_equal(letters, compare.rendered_letters(200))
        rows, cols = np.indices((28, 28))
        for letter in letters:
            ink = np.nonzero(letter)
            # Fitted to 20 pixels on the long side (anti-aliasing may add a faint pixel), centred by mass.
            self.assertLessEqual(max(np.ptp(ink[0]), np.ptp(ink[1])) + 1, 21)
            self.assertGreaterEqual(max(np.ptp(ink[0]), np.ptp(ink[1])) + 1, 19)
            mass = letter.sum(dtype=np.float64)
            self.assertAlmostEqual((rows * letter).sum() / mass, 14, delta=1.5)
            self.assertAlmostEqual((cols * letter).sum() / mass, 14, delta=1.5)
        # Not one glyph drawn over and over: most images differ from each other.
        self.assertGreater(len({l.tobytes() for l in letters}), 190)


class CrossFittedTest(unittest.TestCase):
    def test_a_confident_correct_model_scores_near_perfect_and_a_random_one_near_chance(self):
        rng = np.random.RandomState(0)
        labels = rng.randint(0, 10, size=400)
        sharp = np.full((400, 2, 10), -5.0)
        sharp[np.arange(400), :, labels] = 5.0
        good, image_nll = compare.cross_fitted(sharp, labels)
        self.assertAlmostEqual(image_nll.mean(), good["nll"], places=9)
        self.assertEqual(good["accuracy"], 1.0)
        self.assertLess(good["nll"], 0.01)
        noise, _ = compare.cross_fitted(rng.randn(400, 2, 10) * 0.01, labels)
        self.assertLess(noise["accuracy"], 0.2)
        self.assertAlmostEqual(noise["nll"], np.log(10), delta=0.05)
        self.assertLess(noise["ece"], 0.1)


class NllGainTest(unittest.TestCase):
    def test_a_gain_within_noise_is_smaller_than_two_standard_errors(self):
        rng = np.random.RandomState(1)
        base = rng.exponential(0.2, size=5000)
        tie = base + rng.normal(0, 0.05, size=5000)
        gain, error = compare.nll_gain(tie, base)
        self.assertLess(abs(gain), 2 * error)
        gain, error = compare.nll_gain(base - 0.01, base)
        self.assertAlmostEqual(gain, 0.01)
        self.assertGreater(gain, 2 * error)


class DiversityTest(unittest.TestCase):
    def setUp(self):
        rng = np.random.RandomState(5)
        self.labels = rng.randint(0, 10, size=400)
        self.member = rng.normal(size=(400, 10)) + 3.0 * np.eye(10)[self.labels]

    def test_identical_members_gain_nothing_from_averaging_and_always_agree(self):
        logits = np.stack([self.member, self.member], axis=1)
        figures = compare.diversity(logits, self.labels, compare.cross_fitted(logits, self.labels)[0]["nll"])
        self.assertAlmostEqual(0.0, figures["averaging_gain"], places=6)
        self.assertEqual(1.0, figures["members_agree"])

    def test_members_with_independent_errors_gain_from_averaging_and_disagree(self):
        other = np.random.RandomState(6).normal(size=(400, 10)) + 3.0 * np.eye(10)[self.labels]
        logits = np.stack([self.member, other], axis=1)
        figures = compare.diversity(logits, self.labels, compare.cross_fitted(logits, self.labels)[0]["nll"])
        self.assertGreater(figures["averaging_gain"], 0.01)
        self.assertLess(figures["members_agree"], 0.95)
        self.assertEqual(2, len(figures["member_nll"]))


class RuleTest(unittest.TestCase):
    def test_a_candidate_wins_by_being_better_on_one_figure_and_not_worse_on_the_other(self):
        margin = compare.LETTERS_AUROC_MARGIN
        self.assertEqual("nll", compare.win(0.03, 0.005, 0.0))             # lower NLL, the same letters AUROC
        self.assertEqual("letters", compare.win(0.001, 0.005, 2 * margin))  # NLL a tie, letters clearly higher
        self.assertEqual("letters", compare.win(0.03, 0.005, 2 * margin))   # better on both
        self.assertIsNone(compare.win(0.001, 0.005, margin / 2))            # both within noise
        self.assertIsNone(compare.win(0.03, 0.005, -2 * margin))            # lower NLL bought with less disagreement
        self.assertIsNone(compare.win(-0.03, 0.005, 2 * margin))            # more disagreement bought with a worse NLL

    def test_a_win_ships_only_when_a_second_seed_wins_on_the_same_figure(self):
        # e3-e4 and e3-e4-s2 differ only in the seed; e3-e16 is another architecture.
        self.assertEqual(("e3", ["e3-e4"]), compare.choose({"e3-e4": "letters"}))
        self.assertEqual(("e3", ["e3-e4", "e3-e16"]), compare.choose({"e3-e4": "nll", "e3-e16": "letters"}))
        self.assertEqual(("e3", ["e3-e4", "e3-e4-s2"]), compare.choose({"e3-e4": "letters", "e3-e4-s2": "nll"}))
        self.assertEqual(("e3-e4", []), compare.choose({"e3-e4": "nll", "e3-e4-s2": "nll"}))
        self.assertEqual(("e3-e4-s2", ["e3-e16"]), compare.choose({"e3-e16": "letters", "e3-e4-s2": "letters",
                                                                   "e3-e4": "letters"}))

    def test_runs_of_one_architecture_but_another_recipe_are_not_seeds_of_each_other(self):
        # e3-s3 and e3-split share e3's architecture; e3-split and e3-split-s2 also share a recipe of their own.
        self.assertEqual(("e3", ["e3-s3", "e3-split"]), compare.choose({"e3-s3": "nll", "e3-split": "nll"}))
        self.assertEqual(("e3-split", []), compare.choose({"e3-split": "nll", "e3-split-s2": "nll"}))


if __name__ == "__main__":
    unittest.main()
