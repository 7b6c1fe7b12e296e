"""Tests of the Python module (run by `make test` through tests/python/test_python_module.c, or
alone: PYTHONPATH=python EBM_CLI=build/ebm /usr/bin/python3 -m unittest discover python/tests)."""
import json
import os
import subprocess
import tempfile
import unittest

import numpy as np

import ebm

CLI = os.environ.get("EBM_CLI", os.path.join(os.path.dirname(__file__), "..", "..", "build", "ebm"))
# The settings of the C tests' tiny toy run (tests/cli/test_cli_train.c).
# lr_decay pinned: the toy recipe's cosine decay depends on iters, which the resume test changes
TOY = dict(width=16, batch=16, steps=3, sampler="ula", step_size=0.1, lr=1e-2, lr_decay="none", seed=3)
TOY_FLAGS = ["--width", "16", "--batch", "16", "--steps", "3", "--sampler", "ula", "--step-size", "0.1",
             "--lr", "1e-2", "--lr-decay", "none", "--seed", "3"]
DATA = "toy:8gaussians:train:300"


class TrainedToy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.run_dir = os.path.join(cls.tmp.name, "py")
        cls.steps = []
        cls.final = ebm.train(data=DATA, arch="mlp", out=cls.run_dir, iters=4, save_every=2, sample_every=2,
                              progress=lambda s: cls.steps.append(s), **TOY)
        cls.model = ebm.load(os.path.join(cls.run_dir, "ckpt", "last.safetensors"))

    @classmethod
    def tearDownClass(cls):
        cls.model.close()
        cls.tmp.cleanup()

    def grid(self):
        return np.stack(np.meshgrid(np.linspace(-3, 3, 7), np.linspace(-3, 3, 7)), -1).reshape(-1, 2).astype(np.float32)

    def test_progress_sees_every_step_and_train_returns_the_last(self):
        self.assertEqual([s["step"] for s in self.steps], [1, 2, 3, 4])
        self.assertEqual(self.final, self.steps[-1])
        self.assertTrue(all(np.isfinite(s["loss"]) for s in self.steps))

    def test_python_training_is_the_cli_training_bit_for_bit(self):
        cli_dir = os.path.join(self.tmp.name, "cli")
        subprocess.run([CLI, "train", "--data", DATA, "--arch", "mlp", "--iters", "4", "--out", cli_dir] + TOY_FLAGS,
                       check=True, capture_output=True)
        with ebm.load(os.path.join(cli_dir, "ckpt", "last.safetensors")) as cli_model:
            x = self.grid()
            np.testing.assert_array_equal(self.model.energy(x), cli_model.energy(x))

    def test_cli_resumes_a_python_run(self):
        resumed = os.path.join(self.tmp.name, "resumed")
        ebm.train(data=DATA, arch="mlp", out=resumed, iters=2, **TOY)
        subprocess.run([CLI, "train", "--out", resumed, "--resume", "--iters", "4"], check=True, capture_output=True)
        with ebm.load(os.path.join(resumed, "ckpt", "last.safetensors")) as m:
            x = self.grid()
            np.testing.assert_array_equal(m.energy(x), self.model.energy(x))

    def test_init_from_starts_a_run_at_a_checkpoints_weights(self):
        ckpt = os.path.join(self.run_dir, "ckpt", "last.safetensors")
        started = os.path.join(self.tmp.name, "started")
        ebm.train(data=DATA, arch=None, out=started, iters=0, init_from=ckpt, **TOY)
        with ebm.load(os.path.join(started, "ckpt", "last.safetensors")) as m:
            x = self.grid()
            np.testing.assert_array_equal(m.energy(x), self.model.energy(x))
        with open(os.path.join(started, "config.json")) as f:
            self.assertEqual(json.load(f)["init-from"], ckpt)
        with self.assertRaisesRegex(ebm.Error, "both given"):
            ebm.train(data=DATA, arch="mlp", out=os.path.join(self.tmp.name, "both"), iters=1, init_from=ckpt, **TOY)

    def test_grad_matches_finite_differences_of_energy(self):
        x = self.grid()[:10]
        e, dx = self.model.grad(x)
        np.testing.assert_array_equal(e, self.model.energy(x))
        h = 1e-2
        for d in range(2):
            step = np.zeros_like(x)
            step[:, d] = h
            fd = (self.model.energy(x + step).astype(np.float64) - self.model.energy(x - step)) / (2 * h)
            np.testing.assert_allclose(dx[:, d], fd, rtol=0.05, atol=1e-4)

    def test_sample_takes_noise_levels_of_a_noise_conditioned_model(self):
        path = os.path.join(self.tmp.name, "noise.safetensors")
        arch = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "arch", "noise-conditioned-energy.json")
        subprocess.run([CLI, "init", "--arch-json", arch, "--seed", "1", "--out", path], check=True,
                       capture_output=True)
        with ebm.load(path) as m:
            self.assertTrue(m.needs_sigma)
            sigma = np.full(4, 0.5, np.float32)
            x = ebm.sample(m, 4, steps=2, seed=1, sigma=sigma)
            self.assertEqual(x.shape, (4,) + m.item_shape)
            np.testing.assert_array_equal(x, ebm.sample(m, 4, steps=2, seed=1, sigma=sigma))
            self.assertFalse(np.array_equal(x, ebm.sample(m, 4, steps=2, seed=1, sigma=sigma * 4)))
            with self.assertRaisesRegex(ValueError, "noise-conditioned"):
                ebm.sample(m, 4, steps=2)
        with self.assertRaisesRegex(ValueError, "noise-level"):
            ebm.sample(self.model, 4, steps=2, sigma=np.ones(4, np.float32))

    def test_forward_is_the_energy_as_a_raw_output(self):
        x = self.grid()
        self.assertEqual(self.model.out_shape, (1,))
        np.testing.assert_array_equal(self.model.forward(x), self.model.energy(x).reshape(-1, 1))
        with self.assertRaisesRegex(ValueError, "noise-level"):
            self.model.forward(x, sigma=np.ones(len(x), np.float32))

    def test_energy_of_many_items_goes_in_max_batch_chunks(self):
        x = np.random.default_rng(1).normal(size=(600, 2)).astype(np.float32)  # > max_batch 256
        chunks = [self.model.energy(np.ascontiguousarray(x[i:i + 256])) for i in (0, 256, 512)]
        np.testing.assert_array_equal(self.model.energy(x), np.concatenate(chunks))

    def test_arrays_are_validated_before_c(self):
        x = self.grid()
        for bad, needle in [(x.astype(np.float64), "float32"), (np.asfortranarray(x), "C-contiguous"),
                            (x[:, :1].copy(), "shape (N, 2)"), (x.reshape(-1), "shape (N, 2)"),
                            (x.tolist(), "numpy array")]:
            with self.assertRaisesRegex(ValueError, needle.replace("(", r"\(").replace(")", r"\)")):
                self.model.energy(bad)
        nan = x.copy()
        nan[0, 0] = np.nan
        with self.assertRaisesRegex(ValueError, "NaN"):
            self.model.grad(nan)
        with self.assertRaisesRegex(ValueError, "unconditional"):
            self.model.energy(x, labels=np.zeros(len(x), np.int32))

    def test_sample_is_reproducible_by_seed(self):
        a = ebm.sample(self.model, 8, sampler="ula", steps=5, step_size=0.1, seed=7)
        b = ebm.sample(self.model, 8, sampler="ula", steps=5, step_size=0.1, seed=7)
        c = ebm.sample(self.model, 8, sampler="ula", steps=5, step_size=0.1, seed=8)
        self.assertEqual(a.shape, (8, 2))
        np.testing.assert_array_equal(a, b)
        self.assertFalse(np.array_equal(a, c))
        init = np.zeros((8, 2), np.float32)
        zero_steps = ebm.sample(self.model, 8, sampler="ula", steps=0, init=init)
        np.testing.assert_array_equal(zero_steps, init)

    def test_library_errors_raise_ebm_error_with_the_message(self):
        with self.assertRaisesRegex(ebm.Error, "missing.safetensors: cannot open"):
            ebm.load(os.path.join(self.tmp.name, "missing.safetensors"))
        out = os.path.join(self.tmp.name, "bad")
        with self.assertRaisesRegex(ebm.Error, "unknown training setting 'bogus'"):
            ebm.train(data=DATA, arch="mlp", out=out, iters=1, bogus=1)
        with self.assertRaisesRegex(ebm.Error, "lr expects a finite number, got 'fast'"):
            ebm.train(data=DATA, arch="mlp", out=out, iters=1, lr="fast")
        with self.assertRaisesRegex(ebm.Error, "unknown data set"):
            ebm.train(data="nothing", arch="mlp", out=out, iters=1)
        with self.assertRaisesRegex(ebm.Error, "unknown sampler 'gibbs'"):
            ebm.sample(self.model, 2, sampler="gibbs")
        with self.assertRaisesRegex(ebm.Error, "holds a checkpoint already"):
            ebm.train(data=DATA, arch="mlp", out=self.run_dir, iters=1, **TOY)

    def test_progress_can_stop_a_run_which_saves(self):
        out = os.path.join(self.tmp.name, "stopped")

        def stop_at_2(stats):
            if stats["step"] == 2:
                raise StopIteration

        last = ebm.train(data=DATA, arch="mlp", out=out, iters=10, progress=stop_at_2, report=True, **TOY)
        self.assertEqual(last["step"], 2)
        with open(os.path.join(out, "config.json")) as f:
            self.assertEqual(json.load(f)["step-size"], 0.1)
        self.assertTrue(os.path.exists(os.path.join(out, "report.html")))
        subprocess.run([CLI, "info", os.path.join(out, "ckpt", "last.safetensors")], check=True,
                       capture_output=True)


class TorchInterop(unittest.TestCase):
    def test_checkpoint_loads_in_torch_and_tensors_pass_without_copies(self):
        try:
            import torch
            from safetensors.torch import load_file  # noqa: F401
        except ImportError:
            self.skipTest("torch or safetensors is not installed")
        # (Runs where torch is installed: scripts/install-deps.sh --torch.)
        with tempfile.TemporaryDirectory() as tmp:
            ebm.train(data=DATA, arch="mlp", out=tmp + "/r", iters=1, **TOY)
            state = load_file(tmp + "/r/ckpt/last.safetensors")
            self.assertIn("net.0.weight", state)
            t = torch.zeros(4, 2)
            self.assertEqual(t.numpy().ctypes.data, t.data_ptr())


if __name__ == "__main__":
    unittest.main()
