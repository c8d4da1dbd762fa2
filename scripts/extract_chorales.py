"""Extract chord / Roman-numeral sequences of Bach's 371 chorales: ``data/chorales/chorales.tsv.gz``.

Usage (music21 is not an app dependency; use a separate environment, ~10 min on 2 cores)::

    python -m venv /tmp/m21-env
    /tmp/m21-env/bin/pip install "music21==10.5.1"
    /tmp/m21-env/bin/python scripts/extract_chorales.py

For every chorale of ``music21.corpus.chorales.Iterator`` (Riemenschneider numbering, 371
chorales; music21's corpus is BSD-licensed, Bach's music is public domain) it runs
``analyze('key')`` (Krumhansl-Schmuckler) on the whole chorale, ``chordify()`` s the four
voices and writes one row per chord onset: the Roman numeral figure relative to the chorale's
key (``roman.romanNumeralFromChord``), offset and duration in quarter notes, measure number,
and whether the soprano holds a fermata there (a phrase end).  The header comment records the
music21 version.  The file is a gzip-compressed TSV with a zero timestamp (byte-reproducible).
"""

from __future__ import annotations

import argparse
import gzip
import io
import sys
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "data" / "chorales" / "chorales.tsv.gz"
COLUMNS = ["chorale", "source", "title", "key", "measure", "offset", "duration", "figure",
           "fermata"]


def _clean(text: object) -> str:
    return " ".join(str(text or "").replace("\t", " ").split())


def extract(out: Path = OUT, limit: int | None = None) -> None:
    """Run the extraction and write the TSV."""
    import music21
    from music21 import corpus, expressions, roman

    rows: list[list[str]] = []
    iterator = corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="stream")
    t0 = time.time()
    for number, score in enumerate(iterator, start=1):
        if limit is not None and number > limit:
            break
        key = score.analyze("key")
        key_name = f"{key.tonic.name} {key.mode}"
        soprano = score.parts[0].flatten().notes
        fermatas = [(float(n.offset), float(n.offset + n.quarterLength)) for n in soprano
                    if any(isinstance(e, expressions.Fermata) for e in n.expressions)]
        source = _clean(getattr(score, "corpusFilepath", "") or score.metadata.corpusFilePath)
        title = _clean(score.metadata.title)
        chords = score.chordify().flatten().getElementsByClass("Chord")
        for chord in chords:
            off = float(chord.offset)
            try:
                figure = roman.romanNumeralFromChord(chord, key).figure
            except Exception:  # noqa: BLE001 - music21 raises assorted errors on odd chords
                figure = "?"
            ferm = any(a <= off < b for a, b in fermatas)
            rows.append([str(number), source, title, key_name, str(chord.measureNumber or 0),
                         f"{off:g}", f"{float(chord.quarterLength):g}", _clean(figure),
                         "1" if ferm else "0"])
        if number % 20 == 0:
            print(f"{number} chorales, {len(rows)} chords ({time.time() - t0:.0f}s)", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    # gzip with a fixed (zero) timestamp and no file name, so reruns give identical bytes
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                               compresslevel=9) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="\n") as handle:
        handle.write(f"# Bach chorales (music21 {music21.__version__} corpus, riemenschneider "
                     "numbering): one row per chordify() onset; figure = "
                     "roman.romanNumeralFromChord(chord, score.analyze('key')).figure\n")
        handle.write("\t".join(COLUMNS) + "\n")
        for row in rows:
            handle.write("\t".join(row) + "\n")
    print(f"wrote {out}: {len(rows)} chords", file=sys.stderr)


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    extract(args.out, args.limit)


if __name__ == "__main__":
    main()
