"""Import an ORIGINAL LSTMVis project folder (``lstm.yml`` + HDF5 files + dict files).

An original project is one directory holding ``lstm.yml`` and the files it names (see
docs/data-model.md §Importing an original LSTMVis project and docs/semantics.md §Matching):

* ``files``: ``{ref: filename}``; filenames ending ``.h5``/``.hdf5`` are HDF5 files,
  ``.dict``/``.txt`` are dictionaries, anything else is ignored.  Every other section names
  files by their *ref*, never by filename.
* ``word_sequence``: ``{file, path, dict_file}``: an int vector of length N (the whole corpus
  as one flat stream of word ids) and the dictionary that turns ids into tokens.
* ``states``: ``{file, types: [{type, layer, path, file, unsigned, transform}]}``: one N x D
  matrix per type; row t is the state after reading token t.
* ``meta`` (optional): annotation tracks (discrete + dict, scalar + range, ``wordvec`` top-k,
  each either per position or, with ``index: word_sequence``, per word id).
* ``word_embedding`` (optional) and ``etc.regex_search`` (optional) are only recorded.

Dictionary files have one ``token<space>id`` line per token.  A line that starts with a space
is the single-space token (``"  5"`` and ``" 5"`` both mean token ``" "`` with id 5).  Ids are
used exactly as written (the original tooling writes 1-based ids): a word id ``w`` in the
HDF5 word sequence is the token whose dictionary line carries ``w``.

Every problem with the input raises :class:`lstmvis_db.errors.InputError` with a one-line
message that names the file, the ``lstm.yml`` key and/or the offending value.

The package: ``dictionary.py`` (dictionary files), ``config.py`` (``lstm.yml`` and the files it
names), ``sources.py`` (word sequence and states), ``tracks.py`` (``meta``), ``documents.py``
(the document split), ``reader.py`` (the whole project, and the import into a project file).

May import: h5py, yaml, numpy, ``lstmvis_db.errors``, ``lstmvis_db.store``,
``lstmvis_db.types``; never the app, the demos, the views or the benchmark.
"""

from __future__ import annotations

from lstmvis_db.import_lstmvis.config import CONFIG_NAME, DICT_SUFFIXES, HDF5_SUFFIXES, TRANSFORMS
from lstmvis_db.import_lstmvis.dictionary import Vocabulary, parse_dictionary, read_dictionary
from lstmvis_db.import_lstmvis.documents import DocumentsArg
from lstmvis_db.import_lstmvis.reader import import_lstmvis, open_lstmvis_project, read_lstmvis_project

__all__ = [
    "CONFIG_NAME",
    "DICT_SUFFIXES",
    "HDF5_SUFFIXES",
    "TRANSFORMS",
    "DocumentsArg",
    "Vocabulary",
    "import_lstmvis",
    "open_lstmvis_project",
    "parse_dictionary",
    "read_dictionary",
    "read_lstmvis_project",
]
