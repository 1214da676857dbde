"""Training state in runs/: the queue the lanes take and what a finished run file holds.

    cd model-runtime/training && python3 -m unittest discover -s tests -v
"""
import glob
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import numpy as np
import torch

TRAINING_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, TRAINING_DIR)
import export  # noqa: E402
import train  # noqa: E402
from e3 import specs  # noqa: E402


def write_run(folder, run, epoch, finished, recipe=None):
    arch, seed = specs.ALL_RUNS[run]
    state = {"finished": finished, "model": {}, "epoch": epoch, "history": [{"epoch": e + 1} for e in range(epoch)],
             "arch": arch.to_json(), "seed": seed}
    if recipe != "unrecorded":
        state["recipe"] = recipe or specs.recipe(run=run)
    if not finished:
        state["optimiser"] = {"state": {}, "param_groups": []}
    torch.save(state, train.run_file(folder, run))


class SplitMemberDataTest(unittest.TestCase):
    def test_each_image_teaches_one_member_the_same_on_every_draw(self):
        weights = train.member_weights(10000, 2, seed=51)
        self.assertTrue(((weights == 0) | (weights == 2)).all())
        self.assertTrue((weights.sum(axis=1) == 2).all())
        self.assertAlmostEqual(0.5, (weights[:, 0] > 0).mean(), delta=0.02)
        self.assertTrue((weights == train.member_weights(10000, 2, seed=51)).all())
        self.assertFalse((weights == train.member_weights(10000, 2, seed=52)).all())

    def test_a_member_learns_nothing_from_the_images_it_does_not_get(self):
        torch.manual_seed(0)
        logits = torch.randn(6, 2, 10, requires_grad=True)
        labels = torch.randint(0, 10, (6,))
        weights = torch.from_numpy(train.member_weights(6, 2, seed=51))
        train.member_loss(logits, labels, weights).backward()
        taught = (logits.grad.abs().sum(dim=-1) > 0).float()
        self.assertTrue(torch.equal(taught, (weights > 0).float()))

    def test_a_split_run_trains_and_records_its_recipe(self):
        # One epoch of two steps on 512 training images, so the training loop runs with the split's weights.
        train_x, train_y = np.zeros((512, 28, 28), np.uint8), np.arange(512) % 10
        small = {"train": (train_x, train_y), "validation": (train_x[:100], train_y[:100])}
        with tempfile.TemporaryDirectory() as folder, \
                mock.patch.object(train.data, "fashion", side_effect=small.get), \
                mock.patch.dict(os.environ, {"E3_TRAIN_THREADS": "1"}), \
                mock.patch.object(train, "member_loss", wraps=train.member_loss) as loss:
            history = train.train("e3-split", 1, folder)
            state = train.read_run(folder, "e3-split")
        batch_weights = [call.args[2] for call in loss.call_args_list]
        self.assertEqual(2, len(batch_weights))
        for weights in batch_weights:  # every image of every step teaches exactly one member
            self.assertTrue(torch.equal((weights > 0).sum(dim=1), torch.ones(len(weights), dtype=torch.long)))
        self.assertEqual(1, len(history))
        self.assertTrue(state["finished"])
        self.assertEqual(specs.SPLIT_MEMBER_DATA, state["recipe"]["member_data"])
        self.assertEqual([], train.differences(state, "e3-split", epochs=1))

    def test_even_weights_give_the_common_loss(self):
        logits, labels = torch.randn(6, 2, 10), torch.randint(0, 10, (6,))
        self.assertAlmostEqual(train.member_loss(logits, labels).item(),
                               train.member_loss(logits, labels, torch.ones(6, 2)).item(), places=6)


class QueueTest(unittest.TestCase):
    def test_a_fresh_clone_trains_the_comparison_first_then_the_longest_remaining(self):
        with tempfile.TemporaryDirectory() as folder:
            self.assertEqual(train.queue(folder),
                             ["e3", "vmoe-k1-s1", "vmoe-k1-s2", "e3-n1", "vmoe-k2", "vit-s1", "vit-s2"])

    def test_finished_runs_leave_the_queue_and_partly_trained_ones_move_back(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "e3", specs.EPOCHS, finished=True)
            write_run(folder, "vmoe-k1-s1", specs.EPOCHS - 2, finished=False)
            write_run(folder, "vit-s1", 3, finished=False)
            self.assertEqual(train.queue(folder), ["vmoe-k1-s2", "vmoe-k1-s1", "e3-n1", "vmoe-k2", "vit-s2", "vit-s1"])

    def test_every_run_finished_leaves_nothing_to_train(self):
        with tempfile.TemporaryDirectory() as folder:
            for run in specs.RUNS:
                write_run(folder, run, specs.EPOCHS, finished=True)
            self.assertEqual(train.queue(folder), [])

    def test_candidates_train_only_when_named(self):
        with tempfile.TemporaryDirectory() as folder:
            for run in specs.RUNS:
                write_run(folder, run, specs.EPOCHS, finished=True)
            for candidate in specs.CANDIDATES:
                write_run(folder, candidate, 3, finished=False)
                self.assertEqual(train.differences(train.read_run(folder, candidate), candidate), [])
            self.assertEqual(train.queue(folder), [])


class RecipeTest(unittest.TestCase):
    def test_runs_of_another_recipe_are_queued_from_the_start(self):
        with tempfile.TemporaryDirectory() as folder:
            for run in specs.RUNS:
                write_run(folder, run, specs.EPOCHS, finished=True)
            shorter = dict(specs.recipe(), epochs=specs.EPOCHS - 12)
            write_run(folder, "e3", specs.EPOCHS - 12, finished=True, recipe=shorter)
            write_run(folder, "vit-s1", specs.EPOCHS, finished=True, recipe=dict(specs.recipe(), lr=specs.LR / 2))
            self.assertEqual(train.queue(folder), ["e3", "vit-s1"])
            self.assertEqual(train.differences(train.read_run(folder, "e3"), "e3"),
                             [f"epochs {specs.EPOCHS - 12} -> {specs.EPOCHS}"])

    def test_a_finished_file_without_a_recorded_recipe_is_of_its_epoch_count(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "e3", specs.EPOCHS, finished=True, recipe="unrecorded")
            write_run(folder, "e3-n1", 24, finished=True, recipe="unrecorded")
            write_run(folder, "vit-s1", 3, finished=False, recipe="unrecorded")
            self.assertEqual(train.differences(train.read_run(folder, "e3"), "e3"), [])
            self.assertEqual(train.differences(train.read_run(folder, "e3-n1"), "e3-n1"),
                             [] if specs.EPOCHS == 24 else [f"epochs 24 -> {specs.EPOCHS}"])
            self.assertEqual(train.differences(train.read_run(folder, "vit-s1"), "vit-s1"), ["recipe not recorded"])

    def test_a_run_with_a_recipe_of_its_own_is_not_current_with_the_common_one(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "e3-split", 3, finished=False, recipe=specs.recipe())
            self.assertEqual(train.differences(train.read_run(folder, "e3-split"), "e3-split"),
                             [f"member_data None -> {specs.SPLIT_MEMBER_DATA}"])
            write_run(folder, "e3-split", 3, finished=False)
            self.assertEqual(train.differences(train.read_run(folder, "e3-split"), "e3-split"), [])

    def test_a_file_of_another_architecture_or_seed_is_not_current(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "vit-s2", specs.EPOCHS, finished=True)
            state = train.read_run(folder, "vit-s2")
            self.assertEqual(train.differences(dict(state, seed=31), "vit-s2"), ["architecture or seed"])

    def test_the_exporter_refuses_a_run_of_another_recipe(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "vit-s1", specs.EPOCHS - 12, finished=True,
                      recipe=dict(specs.recipe(), epochs=specs.EPOCHS - 12))
            with self.assertRaisesRegex(RuntimeError, f"run vit-s1 was trained otherwise .*epochs {specs.EPOCHS - 12}"):
                export.load_run("vit-s1", folder)

    def test_the_exporter_refuses_an_unfinished_run(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "vit-s1", 3, finished=False)
            with self.assertRaisesRegex(RuntimeError, "run vit-s1 has not finished"):
                export.load_run("vit-s1", folder)


class FinishedRunTest(unittest.TestCase):
    def test_a_finished_run_is_skipped_without_loading_data_or_optimiser_state(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "vit-s2", specs.EPOCHS, finished=True)
            before = os.path.getmtime(train.run_file(folder, "vit-s2"))
            history = train.train("vit-s2", specs.EPOCHS, folder)
            self.assertEqual(len(history), specs.EPOCHS)
            self.assertEqual(os.path.getmtime(train.run_file(folder, "vit-s2")), before, "the file is not rewritten")


# Four training steps of e3 from fixed seeds (router noise included), printing a hash of the weights.
FOUR_STEPS = """
import hashlib, sys
sys.path.insert(0, ".")
import torch
import train
from e3 import specs
from e3.model import VisionTransformer
torch.set_num_threads(1)
torch.manual_seed(0)
model = VisionTransformer(specs.ALL_RUNS["e3"][0])
optimiser = torch.optim.AdamW(model.parameters(), 1e-3)
batches = torch.Generator().manual_seed(1)
for _ in range(4):
    images, labels = torch.randn(256, 1, 28, 28, generator=batches), torch.randint(0, 10, (256,), generator=batches)
    loss = train.member_loss(model(images), labels)
    optimiser.zero_grad()
    loss.backward()
    optimiser.step()
print(hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters())).hexdigest())
"""


class AllocatorTest(unittest.TestCase):
    def weights_after_four_steps(self, env):
        return subprocess.run([sys.executable, "-c", FOUR_STEPS], cwd=TRAINING_DIR, env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def test_jemalloc_trains_the_same_weights_bit_for_bit(self):
        library = train.jemalloc_library()
        self.assertIsNotNone(library, "Debian's libjemalloc2 is not installed (.ci/run installs it)")
        plain = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MALLOC_CONF")}
        jemalloc = dict(plain, LD_PRELOAD=library, MALLOC_CONF=train.JEMALLOC_CONF)
        self.assertEqual(self.weights_after_four_steps(plain), self.weights_after_four_steps(jemalloc))

    def test_a_training_command_runs_again_under_jemalloc_keeping_what_was_preloaded(self):
        library = train.jemalloc_library()
        self.assertIsNotNone(library, "Debian's libjemalloc2 is not installed (.ci/run installs it)")
        with tempfile.TemporaryDirectory() as scratch:
            command = os.path.join(scratch, "command.py")
            with open(command, "w") as f:
                f.write(f"import os, sys\nsys.path.insert(0, {TRAINING_DIR!r})\nimport train\n"
                        "train.run_with_jemalloc()\nprint(os.environ['LD_PRELOAD'])\n")
            # A library the user preloads stays (libc's own: always there and harmless to preload twice).
            libc = sorted(glob.glob("/usr/lib/*/libc.so.6") + glob.glob("/lib/*/libc.so.6"))[0]
            env = dict(os.environ, LD_PRELOAD=libc)
            env.pop("E3_TRAIN_JEMALLOC", None)
            preloaded = subprocess.run([sys.executable, command], env=env, check=True, capture_output=True,
                                       text=True).stdout.split()
        self.assertEqual([library, libc], preloaded)

    def test_jemalloc_can_be_turned_off(self):
        os.environ["E3_TRAIN_JEMALLOC"] = "0"
        try:
            self.assertIsNone(train.jemalloc_library())
        finally:
            del os.environ["E3_TRAIN_JEMALLOC"]


if __name__ == "__main__":
    unittest.main()
