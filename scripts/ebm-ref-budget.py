#!/usr/bin/python3
"""The PyTorch reference (../shared/reference/ebm_ref.py) run for a budget of
CPU time, in parts: its model, sampler, data and recipe, imported from the
reference itself, with the same training loop, plus what a run of hours
needs and the reference lacks — a CPU-time budget and a resumable state.

  /usr/bin/python3 scripts/ebm-ref-budget.py --out RUN --budget-cpu 7200 --threads 1 --seed 1
  /usr/bin/python3 scripts/ebm-ref-budget.py --out RUN --resume --budget-cpu 7200   # after a kill

The budget is the whole run's CPU time (user + system of every part, as
/usr/bin/time counts it, start-up included); a run stops after the iteration
that reaches it. RUN/state.pt is written every --save-every iterations and at
the end (atomically: a kill loses at most the iterations since the last one),
and holds the weights, Adam's moments, the replay buffer, torch's and
numpy's random states and the CPU used so far, so a resumed run continues
bit for bit (`--check` proves it against the reference itself). At the end,
as ebm_ref.py --out: RUN/samples.npy (the first 1024 buffer items) and
RUN/model.safetensors, and a summary line with the iterations and the CPU.
--keep-at 1200,7200 also writes those two files into RUN/at-1200s/ (and
RUN/at-7200s/) after the first iteration at or past that much CPU time, with
info.json saying the iteration and the CPU: the points of a curve over time
from one run.

  /usr/bin/python3 scripts/ebm-ref-budget.py --check     # loop == ebm_ref.py, and resume is exact
"""
import argparse, importlib.util, json, os, subprocess, sys, tempfile, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "..", "shared", "reference", "ebm_ref.py")


def load_reference(path):
    spec = importlib.util.spec_from_file_location("ebm_ref", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def save_state(torch, path, state):
    # torch.save to a temporary name, then rename: a kill mid-write keeps the old state.
    torch.save(state, path + ".tmp")
    os.replace(path + ".tmp", path)


def train(ref, a):
    """ebm_ref.main's loop, iteration for iteration; the additions are marked."""
    torch = ref.torch
    torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    state_path = os.path.join(a.out, "state.pt")
    imgs = ref.load_idx_images(os.path.join(a.data, "train-images-idx3-ubyte.gz"))
    data = torch.from_numpy(imgs.astype(np.float32) / 127.5 - 1.0)

    # Seeded and built in ebm_ref.main's order; a resumed run then overwrites all of it.
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    model = ref.CNNModel()
    opt = torch.optim.Adam(model.parameters(), lr=a.lr, betas=(0.0, 0.999))
    buf = torch.rand(a.buffer, 1, 28, 28) * 2 - 1
    start, cpu_before, t_all, t_lang = 0, 0.0, 0.0, 0.0
    if a.resume:  # addition: continue from the saved state
        if not os.path.exists(state_path):
            sys.exit(f"ebm-ref-budget: {state_path}: no state to resume (run without --resume first)")
        s = torch.load(state_path, weights_only=False)
        if s["args"] != run_args(a):
            sys.exit(f"ebm-ref-budget: {state_path}: saved with {s['args']}, not {run_args(a)}")
        model.load_state_dict(s["model"])
        opt.load_state_dict(s["opt"])
        buf = s["buf"]
        torch.set_rng_state(s["torch_rng"])
        np.random.set_state(s["numpy_rng"])
        start, cpu_before, t_all, t_lang = s["it"], s["cpu"], s["t_all"], s["t_lang"]

    def cpu_used():  # addition: this part's CPU (all threads, start-up included) plus the earlier parts'
        return cpu_before + time.process_time()

    def snapshot(it):
        return {"args": run_args(a), "it": it, "cpu": cpu_used(), "t_all": t_all, "t_lang": t_lang,
                "model": model.state_dict(), "opt": opt.state_dict(), "buf": buf,
                "torch_rng": torch.get_rng_state(), "numpy_rng": np.random.get_state()}

    def keep(it):  # addition: the samples and weights at the first iteration past each --keep-at
        for mark in a.keep_at:
            folder = os.path.join(a.out, f"at-{mark:g}s")
            if cpu_used() >= mark and not os.path.exists(os.path.join(folder, "info.json")):
                write_outputs(ref, folder, model, buf)
                with open(os.path.join(folder, "info.json"), "w") as f:
                    json.dump({"iter": it, "cpu_seconds": round(cpu_used(), 2)}, f)

    it = start
    while it < a.iters and (a.budget_cpu <= 0 or cpu_used() < a.budget_cpu):
        it += 1
        t0 = time.perf_counter()
        pos = data[torch.randint(0, len(data), (a.batch,))]
        pos = (pos + 0.005 * torch.randn_like(pos)).clamp(-1, 1)
        n_new = int(round(a.batch * 0.05))
        idx = torch.randint(0, a.buffer, (a.batch - n_new,))
        init = torch.cat([torch.rand(n_new, 1, 28, 28) * 2 - 1, buf[idx]])
        t1 = time.perf_counter()
        neg = ref.langevin(model, init, steps=a.steps)
        t_lang += time.perf_counter() - t1
        buf[idx] = neg[n_new:]
        if n_new:
            buf[torch.randint(0, a.buffer, (n_new,))] = neg[:n_new]

        e = model(torch.cat([pos, neg]))
        e_pos, e_neg = e[:a.batch], e[a.batch:]
        loss = (e_pos.mean() - e_neg.mean()) + a.alpha * (e_pos.pow(2).mean() + e_neg.pow(2).mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        opt.step()
        t_all += time.perf_counter() - t0
        if it % a.log_every == 0:
            print(json.dumps({"iter": it, "loss": round(loss.item(), 5),
                              "e_pos": round(e_pos.mean().item(), 5),
                              "e_neg": round(e_neg.mean().item(), 5),
                              "sec": round(t_all, 3), "cpu": round(cpu_used(), 1)}), flush=True)
        keep(it)
        if a.save_every > 0 and it % a.save_every == 0:
            save_state(torch, state_path, snapshot(it))

    save_state(torch, state_path, snapshot(it))
    write_outputs(ref, a.out, model, buf)
    print(json.dumps({"iters": it, "threads": a.threads, "batch": a.batch, "cpu_seconds": round(cpu_used(), 2),
                      "sec_per_iter": t_all / max(it, 1),
                      "langevin_step_ms": 1000 * t_lang / max(it * a.steps, 1)}), flush=True)


def write_outputs(ref, folder, model, buf):
    """What ebm_ref.py --out writes."""
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "samples.npy"), buf[:1024].numpy())
    ref.save_safetensors(os.path.join(folder, "model.safetensors"), dict(model.state_dict()),
                         {"arch": "uva-cnn", "range": "-1,1"})


def run_args(a):
    """The settings a resumed part must share with the first."""
    return {k: getattr(a, k) for k in ("batch", "steps", "buffer", "alpha", "lr", "seed", "data")}


def check(a):
    """The loop here is the reference's: N iterations of each give the same bytes; and N/2 + N/2 resumed
    give the same bytes as N at once."""
    n = 6
    common = ["--iters", str(n), "--batch", "16", "--steps", "3", "--buffer", "64", "--threads", "1",
              "--seed", "3", "--data", a.data]
    me = [sys.executable, os.path.abspath(__file__), "--ref", a.ref]
    with tempfile.TemporaryDirectory() as d:
        def run(cmd):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

        def weights(run_dir):
            with open(os.path.join(run_dir, "model.safetensors"), "rb") as f:
                return f.read()

        run([sys.executable, a.ref, *common, "--out", f"{d}/ref"])
        run(me + common + ["--out", f"{d}/once"])
        half = list(common)
        half[1] = str(n // 2)
        run(me + half + ["--out", f"{d}/parts"])
        run(me + common + ["--out", f"{d}/parts", "--resume"])
        same_loop = weights(f"{d}/ref") == weights(f"{d}/once")
        same_resume = weights(f"{d}/once") == weights(f"{d}/parts")
        print(f"{n} iterations: this loop == ebm_ref.py: {same_loop}; "
              f"{n // 2} + {n // 2} resumed == {n} at once: {same_resume}")
        return 0 if same_loop and same_resume else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ref", default=REF, help="the reference script (default ../shared/reference/ebm_ref.py)")
    ap.add_argument("--iters", type=int, default=10**9, help="at most this many iterations (default: the budget decides)")
    ap.add_argument("--budget-cpu", type=float, default=0, help="stop when the whole run has used this many CPU seconds")
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--keep-at", default="", help="CPU seconds, comma-separated: keep the outputs at each")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--buffer", type=int, default=8192)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    a.ref = os.path.abspath(a.ref)
    try:
        a.keep_at = sorted(float(v) for v in a.keep_at.split(",") if v.strip())
    except ValueError:
        sys.exit(f"ebm-ref-budget: --keep-at expects CPU seconds such as 1200,7200, got '{a.keep_at}'")
    if not os.path.exists(a.ref):
        sys.exit(f"ebm-ref-budget: {a.ref}: no such reference script (--ref)")
    if a.check:
        sys.exit(check(a))
    if not a.out:
        sys.exit("ebm-ref-budget: --out RUN is required")
    if a.iters >= 10**9 and a.budget_cpu <= 0:
        sys.exit("ebm-ref-budget: give --budget-cpu SECONDS or --iters N")
    train(load_reference(a.ref), a)


if __name__ == "__main__":
    main()
