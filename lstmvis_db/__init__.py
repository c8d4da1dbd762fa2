"""lstmvis-db: LSTMVis's select / match / align over hidden states stored in DuckDB."""

# The version, written only here (pyproject.toml reads it; store.VERSION is this): first, so
# modules imported below may read it while this package is still initialising.
__version__ = "0.1.0"

from typing import TYPE_CHECKING, Any  # noqa: E402

from lstmvis_db.api import Project, open
from lstmvis_db.errors import InputError, LstmvisError, QueryError, SqlRejected
from lstmvis_db.store import add_source, write_project
from lstmvis_db.types import Document, ProjectData, Source, SparseValues, Track

if TYPE_CHECKING:
    from lstmvis_db.caches import import_cache


def __getattr__(name: str) -> Any:
    """``import_cache`` loads on first use (pyarrow.parquet and .compute stay out of ``info``'s start)."""
    if name == "import_cache":
        from lstmvis_db.caches import import_cache

        return import_cache
    raise AttributeError(f"module 'lstmvis_db' has no attribute {name!r}")


__all__ = [
    "Document", "InputError", "LstmvisError", "Project", "ProjectData", "QueryError", "Source",
    "SparseValues", "SqlRejected", "Track", "__version__", "add_source", "import_cache", "open",
    "write_project",
]
