"""Write the Python demo's committed default corpus: ``data/python/corpus.tar.gz``.

Usage: ``python scripts/extract_python_corpus.py [--stdlib /usr/lib/python3.11]``.

The five standard-library modules of ``lstmvis_db.demos.pysource.DEMO_FILES`` (held out from
the model's training), copied verbatim from Debian's Python 3.11.2 (``/usr/lib/python3.11``;
PSF licence, see data/README.md) into a tar archive whose bytes depend only on the files
(members in ``DEMO_FILES`` order, then the interpreter's ``LICENSE.txt``; mtime 0, owner 0,
mode 0644; gzip without a timestamp).
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import tarfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import DATA, sha256_file

from lstmvis_db.demos.pysource import DEMO_FILES

OUT = DATA / "python" / "corpus.tar.gz"


def main() -> None:
    """Copy the files into the archive and print its sha256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stdlib", type=Path, default=Path("/usr/lib/python3.11"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in (*DEMO_FILES, "LICENSE.txt"):  # the PSF licence travels with the files
            data = (args.stdlib / name).read_bytes()
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "wb") as handle, gzip.GzipFile(fileobj=handle, mode="wb", mtime=0, filename="",
                                                       compresslevel=9) as gz:
        gz.write(raw.getvalue())
    print(f"wrote {args.out}: {args.out.stat().st_size} bytes, sha256 {sha256_file(args.out)}")


if __name__ == "__main__":
    main()
