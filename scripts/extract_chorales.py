"""Extract the chords of Bach's 371 chorales: ``data/chorales/chorales.tsv.gz`` and the 20 human
Roman-numeral analyses of music21: ``data/chorales/analyses.tsv.gz``.

Usage (music21 is not an app dependency; use a separate environment, ~10 min on 2 cores)::

    python -m venv /tmp/m21-env
    /tmp/m21-env/bin/pip install "music21==10.5.1"
    /tmp/m21-env/bin/python scripts/extract_chorales.py

For every chorale of ``music21.corpus.chorales.Iterator`` (Riemenschneider numbering, 371
chorales; music21's corpus is BSD-licensed, Bach's music is public domain) it runs
``analyze('key')`` on the whole chorale, ``chordify()`` s the four voices and writes one row per
chord onset, measure by measure: measure number, beat (music21 ``beat``, 1-based), offset and
duration in quarter notes, the chord's root and bass as music21 names them (``root()``,
``bass()``), its sounding pitch classes (sorted, dot-separated), the Roman numeral figure
relative to the chorale's key (``roman.romanNumeralFromChord``), and whether the soprano holds a
fermata there (a phrase end).  Chord symbols, local keys, functions and cadences are computed
from these columns by ``lstmvis_db.demos.chorales`` (no music21 needed there).

``analyses.tsv.gz``: every Roman numeral of ``corpus/bach/choraleAnalyses/riemenschneider*.rntxt``
(human analyses of chorales 1-20) as music21's RomanText parser reads it: chorale number,
measure, beat, key and figure (``m11var1``-style variant lines are not read by the parser).

Both files are gzip-compressed TSVs with a zero timestamp (byte-reproducible); the header
comment records the music21 version.
"""

from __future__ import annotations

import argparse
import gzip
import io
import re
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "chorales"
OUT = DATA / "chorales.tsv.gz"
ANALYSES = DATA / "analyses.tsv.gz"
COLUMNS = ["chorale", "source", "title", "key", "measure", "beat", "offset", "duration", "root", "bass",
           "pcs", "figure", "fermata"]
ANALYSIS_COLUMNS = ["chorale", "measure", "beat", "key", "figure"]


def _clean(text: object) -> str:
    return " ".join(str(text or "").replace("\t", " ").split())


def _num(x: float) -> str:
    return f"{float(x):.6g}"


def _write(path: Path, comment: str, columns: list[str], rows: list[list[str]]) -> None:
    """A gzip TSV with a fixed (zero) timestamp and no file name, so reruns give identical bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                               compresslevel=9) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="\n") as handle:
        handle.write(comment + "\n")
        handle.write("\t".join(columns) + "\n")
        for row in rows:
            handle.write("\t".join(row) + "\n")
    print(f"wrote {path}: {len(rows)} rows", file=sys.stderr)


def _chorale_rows(number: int, score) -> list[list[str]]:
    from music21 import expressions, roman

    key = score.analyze("key")
    key_name = f"{key.tonic.name} {key.mode}"
    soprano = score.parts[0].flatten().notes
    fermatas = [(float(n.offset), float(n.offset + n.quarterLength)) for n in soprano
                if any(isinstance(e, expressions.Fermata) for e in n.expressions)]
    source = _clean(getattr(score, "corpusFilepath", "") or score.metadata.corpusFilePath)
    title = _clean(score.metadata.title)
    rows: list[list[str]] = []
    for measure in score.chordify().getElementsByClass("Measure"):
        for chord in measure.getElementsByClass("Chord"):
            off = float(measure.offset) + float(chord.offset)
            try:
                figure = roman.romanNumeralFromChord(chord, key).figure
            except Exception:  # noqa: BLE001 - music21 raises assorted errors on odd chords
                figure = "?"
            pcs = ".".join(str(p) for p in sorted({p.pitchClass for p in chord.pitches}))
            ferm = any(a <= off < b for a, b in fermatas)
            rows.append([str(number), source, title, key_name, str(measure.number or 0), _num(chord.beat),
                         _num(off), _num(chord.quarterLength), chord.root().name, chord.bass().name, pcs,
                         _clean(figure), "1" if ferm else "0"])
    return rows


def _analysis_rows() -> list[list[str]]:
    import music21
    from music21 import converter

    folder = Path(music21.__file__).parent / "corpus" / "bach" / "choraleAnalyses"
    rows: list[list[str]] = []
    for path in sorted(folder.glob("riemenschneider*.rntxt")):
        number = int(re.sub(r"\D", "", path.stem))
        analysis = converter.parse(str(path), format="romanText")
        for rn in analysis.recurse().getElementsByClass("RomanNumeral"):
            rows.append([str(number), str(rn.measureNumber or 0), _num(rn.beat),
                         f"{rn.key.tonic.name} {rn.key.mode}", _clean(rn.figure)])
    return rows


def extract(out: Path = OUT, analyses: Path = ANALYSES, limit: int | None = None) -> None:
    """Run the extraction and write both TSVs."""
    import music21
    from music21 import corpus

    rows: list[list[str]] = []
    iterator = corpus.chorales.Iterator(numberingSystem="riemenschneider", returnType="stream")
    t0 = time.time()
    for number, score in enumerate(iterator, start=1):
        if limit is not None and number > limit:
            break
        rows.extend(_chorale_rows(number, score))
        if number % 20 == 0:
            print(f"{number} chorales, {len(rows)} chords ({time.time() - t0:.0f}s)", flush=True)
    version = f"music21 {music21.__version__} corpus, riemenschneider numbering"
    _write(out, f"# Bach chorales ({version}): one row per chordify() onset; figure = "
           "roman.romanNumeralFromChord(chord, score.analyze('key')).figure", COLUMNS, rows)
    _write(analyses, f"# Human Roman-numeral analyses of Bach chorales ({version}): "
           "corpus/bach/choraleAnalyses/riemenschneider*.rntxt as parsed by music21", ANALYSIS_COLUMNS,
           _analysis_rows())


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--analyses", type=Path, default=ANALYSES)
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    extract(args.out, args.analyses, args.limit)


if __name__ == "__main__":
    main()
