"""Training state in runs/: the queue the lanes take and what a finished run file holds.

    cd model-runtime/training && python3 -m unittest discover -s tests -v
"""
import os
import sys
import tempfile
import unittest

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import train  # noqa: E402
from e3 import specs  # noqa: E402


def write_run(folder, run, epoch, finished):
    state = {"finished": finished, "model": {}, "epoch": epoch, "history": [{"epoch": e + 1} for e in range(epoch)],
             "arch": specs.RUNS[run][0].to_json(), "seed": specs.RUNS[run][1]}
    if not finished:
        state["optimiser"] = {"state": {}, "param_groups": []}
    torch.save(state, train.run_file(folder, run))


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


class FinishedRunTest(unittest.TestCase):
    def test_a_finished_run_is_skipped_without_loading_data_or_optimiser_state(self):
        with tempfile.TemporaryDirectory() as folder:
            write_run(folder, "vit-s2", specs.EPOCHS, finished=True)
            before = os.path.getmtime(train.run_file(folder, "vit-s2"))
            history = train.train("vit-s2", specs.EPOCHS, folder)
            self.assertEqual(len(history), specs.EPOCHS)
            self.assertEqual(os.path.getmtime(train.run_file(folder, "vit-s2")), before, "the file is not rewritten")


if __name__ == "__main__":
    unittest.main()
