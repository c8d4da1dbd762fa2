"""lstmvis-db: LSTMVis's select / match / align over hidden states stored in DuckDB."""

from lstmvis_db.api import Project, open
from lstmvis_db.errors import InputError, LstmvisError, QueryError, SqlRejected
from lstmvis_db.store import VERSION as __version__
from lstmvis_db.store import write_project
from lstmvis_db.types import Document, ProjectData, Source, Track

__all__ = [
    "Document", "InputError", "LstmvisError", "Project", "ProjectData", "QueryError", "Source",
    "SqlRejected", "Track", "__version__", "open", "write_project",
]
