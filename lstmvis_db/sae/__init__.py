"""Sparse autoencoders applied to a project's states (docs/extraction.md §Applying an SAE).

Holds the SAE itself and its encoder (``model.py``: ``Sae``, ``load`` from a SAELens-layout
directory, ``from_object`` for a sae_lens-like object, ``Sae.encode``), a reader of the
safetensors format (``safetensors.py``, written here so the core needs no extra package), the
application to a project's dense source as a new sparse source (``apply.py``) and the ``sae``
command (``cli.py``, argparse only at import).

May import numpy and the core (``store``, ``queries``, ``types``, ``errors``, ``progress``);
torch only to convert a tensor handed in by the caller (never imported here).
"""

from lstmvis_db.sae.apply import apply_sae
from lstmvis_db.sae.model import Sae, from_object, load

__all__ = ["Sae", "apply_sae", "from_object", "load"]
