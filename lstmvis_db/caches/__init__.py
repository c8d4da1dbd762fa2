"""Import activation caches that other tools produce (SAELens' cache layout) as a project.

A cache is Parquet (one file, or a folder of ``*.parquet`` files read in sorted order) or a
Hugging Face ``datasets`` dataset saved with ``save_to_disk`` (a folder with
``dataset_info.json``, ``state.json`` and ``data-*.arrow`` Arrow IPC stream files, read with
pyarrow directly: the ``datasets`` library is not needed).  Every row is one context (one
document of the project): a ``token_ids`` column (a list of ``T`` integers) and one column per
hook (``blocks.15.hook_resid_pre``, ...) holding a ``T x d_in`` array per row (a list of lists,
fixed-size or not, or Arrow's fixed-shape tensor).  Each activation column becomes a source.

The files are read twice: once to check everything (token ids and every activation row, with
one line naming the row and column of the first problem) and then by the store, which streams
the values in bounded batches.  Token strings come from a ``tokenizer.json`` (the optional
``tokenizers`` library), a vocabulary file, or are ``<id>``; a text given with the tokenizer
must encode to the cache's token ids.

The package: ``files.py`` (finding the files and streaming bounded record batches),
``arrays.py`` (Arrow list columns to numpy, checked), ``tokens.py`` (ids to token strings, the
text check), ``reader.py`` (the checking pass, the lazily read sources, ``import_cache``),
``cli.py`` (the ``import-cache`` command, argparse only at import).

May import: pyarrow, numpy, ``tokenizers`` (inside functions), ``lstmvis_db.errors``,
``lstmvis_db.store``, ``lstmvis_db.types``, ``lstmvis_db.extract.base`` (vocabulary files
only); never the app, the demos, the views or torch.
"""

from __future__ import annotations

from lstmvis_db.caches.reader import CacheInfo, import_cache, read_cache

__all__ = ["CacheInfo", "import_cache", "read_cache"]
