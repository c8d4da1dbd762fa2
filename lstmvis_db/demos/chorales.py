"""The Bach-chorales demo: Roman-numeral sequences of Bach's 371 chorales (music21 corpus,
extracted by ``scripts/extract_chorales.py``) and a small LSTM trained by
``scripts/train_chorales.py``, run in numpy.

Reading the extracted chords, simplifying the numerals, harmonic functions and cadences live
here (the training script uses them too); :func:`chorales_data` is the builder the registry
calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.types import Document, ProjectData, Track

__all__ = ["CHORALES_HYPOTHESIS", "CHORALES_MIN_COUNT", "Chorale", "cadence_labels", "chorales_data",
           "chorales_hypothesis_range", "harmonic_function", "read_chorales", "simplify_figure"]

_RN_RE = re.compile(r"^(?P<acc>[b#-]*)(?P<num>VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)"
                    r"(?P<qual>o|ø|\+)?")
_SPECIAL_RE = re.compile(r"^(It|Ger|Fr|N|Cad|Sw)")
_DEGREE = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6, "vii": 7}
_FUNCTION_OF_DEGREE = {1: "T", 3: "T", 6: "T", 2: "S", 4: "S", 5: "D", 7: "D"}


@dataclass
class Chorale:
    """One chorale as extracted by scripts/extract_chorales.py."""

    number: int
    source: str
    title: str
    key: str
    figures: list[str]
    fermata: np.ndarray
    measure: np.ndarray
    offset: np.ndarray
    duration: np.ndarray

    @property
    def name(self) -> str:
        """Document name, e.g. ``1. Aus meines Herzens Grunde (BWV 269)``."""
        m = re.search(r"bwv(\d+(?:\.\d+)?)", self.source)
        bwv = f" (BWV {m.group(1)})" if m else ""
        return f"{self.number}. {self.title}{bwv}"


def read_chorales(path: Path) -> list[Chorale]:
    """Parse ``chorales.tsv.gz`` into chorales (in Riemenschneider order)."""
    import gzip

    rows: dict[int, list[list[str]]] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header: list[str] | None = None
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if header is None:
                header = fields
                continue
            rows.setdefault(int(fields[0]), []).append(fields)
    out: list[Chorale] = []
    for number in sorted(rows):
        r = rows[number]
        out.append(Chorale(
            number=number, source=r[0][1], title=r[0][2], key=r[0][3],
            figures=[x[7] for x in r],
            fermata=np.array([x[8] == "1" for x in r]),
            measure=np.array([int(x[4]) for x in r]),
            offset=np.array([float(x[5]) for x in r]),
            duration=np.array([float(x[6]) for x in r])))
    return out


def simplify_figure(figure: str) -> str:
    """Roman numeral without inversion / figured-bass digits: ``V65/V`` -> ``V/V``,
    ``viio6`` -> ``viio``, ``I752`` -> ``I``; augmented sixths and the Neapolitan keep their
    names (``Ger``, ``It``, ``Fr``, ``N``); anything else -> ``?``."""
    parts = []
    for part in figure.replace("/o", "ø").split("/"):
        special = _SPECIAL_RE.match(part)
        if special:
            parts.append(special.group(1))
            continue
        m = _RN_RE.match(part)
        if not m:
            return "?"
        qual = m.group("qual") or ""
        parts.append(m.group("acc").replace("-", "b") + m.group("num") + qual)
    return "/".join(parts) if parts else "?"


def harmonic_function(token: str) -> str | None:
    """Tonic (T), subdominant / pre-dominant (S) or dominant (D) of a simplified numeral.

    Scale degrees 1, 3, 6 -> T; 2, 4 -> S; 5, 7 -> D; applied chords (``V/V``, ``viio/ii``)
    -> D; Neapolitan and augmented sixths -> S; cadential 6-4 -> D; unknown -> None.
    """
    if "/" in token:
        return "D"
    if token in ("N", "It", "Ger", "Fr"):
        return "S"
    if token == "Cad":
        return "D"
    m = _RN_RE.match(token)
    if not m:
        return None
    return _FUNCTION_OF_DEGREE[_DEGREE[m.group("num").lower()]]


def _degree(token: str) -> tuple[int, str] | None:
    m = _RN_RE.match(token)
    if not m or "/" in token or m.group("acc"):
        return None
    return _DEGREE[m.group("num").lower()], m.group("qual") or ""


def cadence_labels(tokens: list[str], fermata: np.ndarray) -> list[str | None]:
    """Cadence type at each fermata (phrase end), on the fermata chords and the chord before.

    The final chord is the first chord under the fermata; the approach chord is the last chord
    before the fermata with a different numeral.  V|viio -> I: authentic; IV -> I: plagal;
    ending on V: half; V -> vi: deceptive; anything else: other.
    """
    labels: list[str | None] = [None] * len(tokens)
    i = 0
    n = len(tokens)
    while i < n:
        if not fermata[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and fermata[j + 1]:
            j += 1
        final = _degree(tokens[i])
        k = i - 1
        while k >= 0 and tokens[k] == tokens[i]:
            k -= 1
        before = _degree(tokens[k]) if k >= 0 else None
        kind = "other"
        if final is not None:
            if final[0] == 1 and before is not None and before[0] in (5, 7):
                kind = "authentic"
            elif final[0] == 1 and before is not None and before[0] == 4:
                kind = "plagal"
            elif final[0] == 5:
                kind = "half"
            elif final[0] == 6 and before is not None and before[0] == 5:
                kind = "deceptive"
        for p in range(max(k, 0) if k >= 0 else i, j + 1):
            labels[p] = kind
        i = j + 1
    return labels


CHORALES_DESCRIPTION = """\
**Bach chorales as Roman numerals (the paper's chord-progression use case).** The 371 \
four-part chorales of music21's corpus (Riemenschneider numbering; music21 is BSD-licensed, \
the music is public domain) were chordified and labelled with Roman numerals relative to each \
chorale's key (Krumhansl-Schmuckler analysis) by scripts/extract_chorales.py. Each chord \
onset is one token: its numeral without inversion (`V65/V` -> `V/V`). Model: a \
{layers}-layer LSTM with {hidden} cells per layer trained by scripts/train_chorales.py \
(torch; trained on chorales 1-334, validated on 335-371: loss {valid:.3f} nats/chord), run \
here in numpy; one document per chorale ({docs} chorales, {n:,} chords). Tracks: key, the full \
Roman-numeral figure, harmonic function (T/S/D), phrase ends (soprano fermatas), cadence type \
at each phrase end (authentic / plagal / half / deceptive / other), top-3 next-chord \
predictions, surprisal. \
**Try first:** source `{source}`, select positions {start}-{end} (`{range_text}`, {where}) with \
threshold {threshold}: {what}"""

CHORALES_HYPOTHESIS: dict[str, object] = {
    "source": "layer1_h", "threshold": 0.5,
    "what": ("this selects six layer-1 cells that fire on a dominant resolving to the tonic. "
             "About three quarters of the 50 matches are V -> I progressions (only 7% of "
             "neighbouring chords are), and two thirds of them contain an authentic cadence at "
             "a phrase end: compare the cadence and phrase_end heatmaps."),
}

CHORALES_MIN_COUNT = 5  # numerals rarer than this in the corpus are the token "other"


def _cut_chorales(chorales: list[Chorale], limit: int | None) -> list[Chorale]:
    """The chorales within the first ``limit`` chords (the last one truncated)."""
    if limit is None:
        return chorales
    kept: list[Chorale] = []
    left = limit
    for c in chorales:
        if left <= 0:
            break
        take = min(left, len(c.figures))
        kept.append(Chorale(c.number, c.source, c.title, c.key, c.figures[:take],
                            c.fermata[:take], c.measure[:take], c.offset[:take],
                            c.duration[:take]))
        left -= take
    return kept


def _tracks(chorales: list[Chorale], simple: list[list[str]], cadences: list[str | None]) -> list[Track]:
    """Key, numeral, function, phrase end, cadence and beat."""
    key_labels = [c.key for c in chorales for _ in c.figures]
    fermata = np.concatenate([c.fermata for c in chorales]) if chorales else np.zeros(0, bool)
    functions = [harmonic_function(t) for seq in simple for t in seq]
    beat = np.concatenate([c.offset % 1.0 == 0 for c in chorales]) if chorales else np.zeros(0)
    keys_order = sorted(set(key_labels), key=lambda k: (k.split()[1], k))
    return [
        Track("key", "categorical", "key of the chorale (music21 Krumhansl-Schmuckler analysis)",
              labels=key_labels, categories=keys_order),
        Track("roman_numeral", "categorical",
              "full Roman-numeral figure with inversion (music21 romanNumeralFromChord)",
              labels=[f for c in chorales for f in c.figures]),
        Track("function", "categorical",
              "harmonic function: T (I, iii, vi), S (ii, IV, Neapolitan, augmented sixths), "
              "D (V, vii, applied chords, cadential 6-4)",
              labels=functions, categories=["T", "S", "D"]),
        Track("phrase_end", "categorical", "chord under a soprano fermata (end of a phrase)",
              labels=["fermata" if f else None for f in fermata], categories=["fermata"]),
        Track("cadence", "categorical",
              "cadence at the phrase end: approach chord and fermata chord(s)",
              labels=cadences,
              categories=["authentic", "plagal", "half", "deceptive", "other"]),
        Track("on_beat", "categorical", "chord onset on a quarter-note beat or between beats",
              labels=["on beat" if b else "off beat" for b in beat],
              categories=["on beat", "off beat"]),
    ]


_DEMO = common.SmallLstmDemo(
    "chorales", "chord", "chord", 8.0, "music21 corpus, 371 Bach chorales (Riemenschneider numbering)",
    "lstmvis_db.demos (scripts/extract_chorales.py, scripts/train_chorales.py)", CHORALES_DESCRIPTION)


def chorales_data(limit: int | None = None, data_dir: Path | None = None,
                  progress: common.Report | None = None) -> ProjectData:
    """Build the Bach-chorales demo's :class:`ProjectData` (``limit``: first N chords only)."""
    report = common.reporter(progress)
    chords_path = common.verify_data_file("chorales/chorales.tsv.gz", data_dir)
    arrays = common.load_arrays(common.verify_data_file("chorales/weights.npz", data_dir))
    stoi = {str(t): i for i, t in enumerate(arrays["vocab"])}
    chorales = _cut_chorales(read_chorales(chords_path), limit)
    simple = [[simplify_figure(f) for f in c.figures] for c in chorales]
    tokens = [t if t in stoi else "other" for seq in simple for t in seq]
    ids = [np.array([stoi.get(t, 0) for t in seq], np.int64) for seq in simple]
    lstm = common.run_small_lstm(arrays, ids, report)
    cadences: list[str | None] = []
    for c, seq in zip(chorales, simple):
        cadences.extend(cadence_labels(seq, c.fermata))
    documents = common.documents_from([c.name for c in chorales], [len(c.figures) for c in chorales])
    hyp = dict(CHORALES_HYPOTHESIS)
    start, end, where = chorales_hypothesis_range(tokens, cadences, documents)
    hyp.update(start=start, end=end, range_text=" ".join(tokens[start:end + 1]), where=where)
    return common.small_lstm_project(_DEMO, lstm, tokens, ids, report, documents=documents,
                                     tracks=_tracks(chorales, simple, cadences), hyp=hyp)


def chorales_hypothesis_range(tokens: list[str], cadences: list[str | None],
                              documents: list[Document]) -> tuple[int, int, str]:
    """The suggested hypothesis: the first authentic cadence V -> I (approach and final chord)
    that is not at a chorale's start; returns (start, end, where)."""
    firsts = {d.first_pos for d in documents}
    for i in range(1, len(tokens)):
        if (cadences[i] == "authentic" and cadences[i - 1] == "authentic"
                and tokens[i - 1] == "V" and tokens[i] in ("I", "i") and i - 1 not in firsts):
            doc = next(d for d in documents if d.first_pos <= i <= d.last_pos)
            return i - 1, i, f"an authentic cadence in {doc.name}"
    return 1, 2, "the start of the first chorale"
