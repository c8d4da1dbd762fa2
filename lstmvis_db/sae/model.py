"""An SAE's encoder: ``f = act((x - b_dec) @ W_enc + b_enc)`` (``- b_dec`` only when
``apply_b_dec_to_input``, the default), act = ReLU (``standard``), JumpReLU with a per-latent
``threshold`` (``jumprelu``: ReLU(pre) where pre > threshold, else 0) or top-k (``topk``: the
k largest pre-activations of each position kept, then ReLU).  Read from a directory in
SAELens' layout (``cfg.json`` + ``sae_weights.safetensors``) or taken from a sae_lens-like
object; every malformed part is one ``InputError`` naming it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmvis_db.errors import InputError
from lstmvis_db.sae import safetensors

ARCHITECTURES = ("standard", "jumprelu", "topk")
CFG_FILE, WEIGHTS_FILE = "cfg.json", "sae_weights.safetensors"


@dataclass(frozen=True)
class Sae:
    """The encoder side of an SAE (float32); ``W_dec`` is not needed to encode and not kept."""

    architecture: str
    W_enc: np.ndarray  # (d_in, d_sae)
    b_enc: np.ndarray  # (d_sae,)
    b_dec: np.ndarray  # (d_in,)
    threshold: np.ndarray | None = None  # (d_sae,), jumprelu
    k: int | None = None  # topk
    apply_b_dec_to_input: bool = True
    hook_name: str = ""
    model_name: str = ""
    origin: str = ""  # where it was read from (for the source's description)

    @property
    def d_in(self) -> int:
        return int(self.W_enc.shape[0])

    @property
    def d_sae(self) -> int:
        return int(self.W_enc.shape[1])

    def encode(self, x: np.ndarray, topk: int | None = None) -> np.ndarray:
        """Latent activations (R, d_sae) float32 of activations ``x`` (R, d_in); ``topk`` keeps
        only the ``topk`` largest latents of each row afterwards (for a topk SAE: its k)."""
        x = np.asarray(x, dtype=np.float32)
        if self.apply_b_dec_to_input:
            x = x - self.b_dec
        pre = x @ self.W_enc + self.b_enc
        if self.architecture == "topk":
            f = _keep_top(pre, int(topk or self.k or 0))
            return np.maximum(f, 0, out=f)
        f = np.maximum(pre, 0)
        if self.architecture == "jumprelu":
            assert self.threshold is not None
            f[pre <= self.threshold] = 0
        return f if topk is None else _keep_top(f, int(topk))


def _keep_top(a: np.ndarray, k: int) -> np.ndarray:
    """``a`` with all but the k largest entries of each row set to 0 (ties: numpy's partition)."""
    if k >= a.shape[1]:
        return a.copy()
    idx = np.argpartition(-a, k - 1, axis=1)[:, :k]
    out = np.zeros_like(a)
    rows = np.arange(a.shape[0])[:, None]
    out[rows, idx] = a[rows, idx]
    return out


def _array(x: Any, what: str) -> np.ndarray:
    """A tensor (torch, numpy or anything array-like) as a float32 numpy array."""
    if hasattr(x, "detach"):  # a torch tensor: to the CPU as float32 without importing torch here
        x = x.detach().float().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputError(f"SAE {what} is not an array of numbers") from None
    if not np.isfinite(arr).all():
        raise InputError(f"SAE {what} holds non-finite values")
    return arr


def _build(where: str, architecture: object, tensors: dict[str, Any], k: object, apply_b_dec: object,
           hook_name: object = "", model_name: object = "", d_in: object = None, d_sae: object = None) -> Sae:
    if architecture not in ARCHITECTURES:
        raise InputError(f"{where}: architecture must be one of {', '.join(ARCHITECTURES)}, got {architecture!r}")
    for name in ("W_enc", "b_enc", "b_dec") + (("threshold",) if architecture == "jumprelu" else ()):
        if tensors.get(name) is None:
            raise InputError(f"{where}: no tensor {name!r}" + (" (a jumprelu SAE needs it)" if name == "threshold"
                                                                 else ""))
    w = _array(tensors["W_enc"], "W_enc")
    if w.ndim != 2 or w.shape[0] < 1 or w.shape[1] < 1:
        raise InputError(f"{where}: W_enc must be 2-D (d_in, d_sae), got shape {tuple(w.shape)}")
    di, ds = w.shape
    if d_in is not None and d_in != di:
        raise InputError(f"{where}: d_in is {d_in!r} but W_enc has shape {tuple(w.shape)} (d_in, d_sae)")
    if d_sae is not None and d_sae != ds:
        raise InputError(f"{where}: d_sae is {d_sae!r} but W_enc has shape {tuple(w.shape)} (d_in, d_sae)")
    want = {"b_enc": (ds,), "b_dec": (di,), "threshold": (ds,)}
    got = {}
    for name, shape in want.items():
        if tensors.get(name) is None:
            continue
        arr = _array(tensors[name], name)
        if tuple(arr.shape) != shape:
            raise InputError(f"{where}: {name} must have shape {shape}, got {tuple(arr.shape)}")
        got[name] = arr
    if "W_dec" in tensors and tensors["W_dec"] is not None:
        shape = tuple(np.shape(tensors["W_dec"]))
        if shape != (ds, di):
            raise InputError(f"{where}: W_dec must have shape {(ds, di)}, got {shape}")
    kk = None
    if architecture == "topk":
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= int(k) <= ds:
            raise InputError(f"{where}: a topk SAE needs k, an integer 1..{ds}, got {k!r}")
        kk = int(k)
    if not isinstance(apply_b_dec, bool | np.bool_):
        raise InputError(f"{where}: apply_b_dec_to_input must be true or false, got {apply_b_dec!r}")
    return Sae(str(architecture), np.ascontiguousarray(w), got["b_enc"], got["b_dec"], got.get("threshold"), kk,
               bool(apply_b_dec), str(hook_name or ""), str(model_name or ""), where)


def load(directory: str | Path) -> Sae:
    """An SAE from a directory in SAELens' layout: ``cfg.json`` (``architecture``, ``d_in``,
    ``d_sae``, ``k`` for topk, ``apply_b_dec_to_input``, optional ``hook_name`` and
    ``model_name``) and ``sae_weights.safetensors`` (``W_enc``, ``b_enc``, ``b_dec``, optional
    ``W_dec`` and ``threshold``)."""
    d = Path(directory)
    if not d.is_dir():
        raise InputError(f"SAE directory {str(d)!r} " + ("is not a directory" if d.exists() else "does not exist"))
    cfg_path = d / CFG_FILE
    try:
        cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{cfg_path}: no such file (an SAE directory holds {CFG_FILE} and {WEIGHTS_FILE})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{cfg_path}: not valid JSON ({e})") from None
    if not isinstance(cfg, dict):
        raise InputError(f"{cfg_path}: expected a JSON object")
    for key in ("d_in", "d_sae"):
        if key not in cfg:
            raise InputError(f"{cfg_path}: no key {key!r}")
        if isinstance(cfg[key], bool) or not isinstance(cfg[key], int) or cfg[key] < 1:
            raise InputError(f"{cfg_path}: {key} must be a positive integer, got {cfg[key]!r}")
    norm = cfg.get("normalize_activations", "none")
    if norm not in (None, "none"):
        raise InputError(f"{cfg_path}: normalize_activations {norm!r} is not supported (only 'none')")
    weights = d / WEIGHTS_FILE
    if not weights.is_file():
        raise InputError(f"{weights}: no such file")
    tensors = safetensors.read(weights)
    kwargs = cfg.get("activation_fn_kwargs")
    k = cfg.get("k", kwargs.get("k") if isinstance(kwargs, dict) else None)
    return _build(str(d), cfg.get("architecture", "standard"), tensors, k,
                  cfg.get("apply_b_dec_to_input", True), cfg.get("hook_name", ""), cfg.get("model_name", ""),
                  cfg["d_in"], cfg["d_sae"])


def from_object(obj: Any) -> Sae:
    """An SAE from a sae_lens-like object: attributes ``W_enc``, ``b_enc``, ``b_dec``, optional
    ``threshold`` and ``W_dec`` (torch tensors or arrays), and ``cfg`` with ``architecture``
    (a string or a method returning one), ``k`` and ``apply_b_dec_to_input`` (attributes or keys)."""
    if isinstance(obj, Sae):
        return obj
    if isinstance(obj, str | Path):
        return load(obj)
    cfg = getattr(obj, "cfg", None)

    def get(name: str, default: object = None) -> object:
        if isinstance(cfg, dict):
            return cfg.get(name, default)
        value = getattr(cfg, name, default)
        return value() if callable(value) else value

    arch = get("architecture", "standard")
    kwargs = get("activation_fn_kwargs")
    k = get("k", kwargs.get("k") if isinstance(kwargs, dict) else None)
    tensors = {name: getattr(obj, name, None) for name in ("W_enc", "b_enc", "b_dec", "threshold", "W_dec")}
    return _build(f"SAE object {type(obj).__name__}", arch, tensors, k, get("apply_b_dec_to_input", True),
                  get("hook_name", ""), get("model_name", ""))
