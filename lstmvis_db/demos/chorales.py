"""The Bach-chorales demo: absolute chord symbols of Bach's 371 chorales (music21 corpus,
extracted by ``scripts/extract_chorales.py``) read by a small LSTM trained by
``scripts/train_chorales.py``, run in numpy; held-out chorales also transposed, so that a
hypothesis found in one key can be checked in others.

Here: the chorale files (:func:`read_chorales`), the human analyses aligned to the chord onsets
(:func:`read_analyses`, :func:`human_labels`), transposition (:func:`transpose`), each chorale's
labels (:func:`label_chorale`, from :mod:`lstmvis_db.demos.chords`, where the harmony labelling
lives) and :func:`chorales_data`, the builder the registry calls.  Needs no music21.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.demos.chords import (
    CADENCES,
    LOCAL_KEY_HALF_WINDOW,
    cadence_labels,
    chord_symbol,
    harmonic_function,
    key_name,
    local_keys,
    local_numeral,
    pitch_class,
    symbol_name,
)
from lstmvis_db.types import Document, ProjectData, Track

__all__ = ["CHORALES_HYPOTHESIS", "CHORALES_MIN_COUNT", "DEFAULT_SHIFTS", "FULL_SHIFTS", "N_TRAIN", "Chorale",
           "HumanNumeral", "chorale_tokens", "chorales_data", "chorales_hypothesis_range", "human_labels",
           "label_chorale", "read_analyses", "read_chorales", "transpose"]

#: Transpositions of the held-out chorales (semitones up): the default build's and the full one's.
DEFAULT_SHIFTS = (2, 5, 6)
FULL_SHIFTS = tuple(range(1, 12))
N_TRAIN = 334  # chorales 1-334 train the model; 335-371 are held out (and transposed)
CHORALES_MIN_COUNT = 5  # chord symbols rarer than this in the corpus are the token "other"


@dataclass
class Chorale:
    """One chorale as extracted by scripts/extract_chorales.py (``shift``: semitones it was
    transposed up by; 0 for the original)."""

    number: int
    source: str
    title: str
    key: tuple[int, str]
    measure: np.ndarray
    beat: np.ndarray
    offset: np.ndarray
    duration: np.ndarray
    root: list[int]
    pcs: list[tuple[int, ...]]
    figures: list[str]
    fermata: np.ndarray
    shift: int = 0

    @property
    def name(self) -> str:
        """Document name, e.g. ``1. Aus meines Herzens Grunde (BWV 269)``, plus ``, up 2``
        for a transposed copy."""
        m = re.search(r"bwv(\d+(?:\.\d+)?)", self.source)
        bwv = f" (BWV {m.group(1)})" if m else ""
        up = f", transposed up {self.shift}" if self.shift else ""
        return f"{self.number}. {self.title}{bwv}{up}"


def _parse_key(text: str) -> tuple[int, str]:
    tonic, mode = text.split()
    return pitch_class(tonic), mode


def _tsv_rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a gzip TSV written by ``scripts/extract_chorales.py`` (``#`` lines are comments;
    the first other line is the header)."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        header: list[str] | None = None
        for line in handle:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            if header is None:
                header = fields
                continue
            yield dict(zip(header, fields, strict=True))


def read_chorales(path: Path) -> list[Chorale]:
    """Parse ``chorales.tsv.gz`` into chorales (in Riemenschneider order)."""
    rows: dict[int, list[dict[str, str]]] = {}
    for row in _tsv_rows(path):
        rows.setdefault(int(row["chorale"]), []).append(row)
    out: list[Chorale] = []
    for number in sorted(rows):
        r = rows[number]
        out.append(Chorale(
            number=number, source=r[0]["source"], title=r[0]["title"], key=_parse_key(r[0]["key"]),
            measure=np.array([int(x["measure"]) for x in r]),
            beat=np.array([float(x["beat"]) for x in r]),
            offset=np.array([float(x["offset"]) for x in r]),
            duration=np.array([float(x["duration"]) for x in r]),
            root=[pitch_class(x["root"]) for x in r],
            pcs=[tuple(int(p) for p in x["pcs"].split(".")) for x in r],
            figures=[x["figure"] for x in r],
            fermata=np.array([x["fermata"] == "1" for x in r])))
    return out


@dataclass(frozen=True)
class HumanNumeral:
    """One Roman numeral of a human analysis (music21's ``riemenschneider*.rntxt``)."""

    measure: int
    beat: float
    key: str
    figure: str


def read_analyses(path: Path) -> dict[int, list[HumanNumeral]]:
    """Parse ``analyses.tsv.gz``: chorale number -> its numerals in score order."""
    out: dict[int, list[HumanNumeral]] = {}
    for row in _tsv_rows(path):
        key = row["key"].split()
        out.setdefault(int(row["chorale"]), []).append(HumanNumeral(
            int(row["measure"]), float(row["beat"]), key_name((pitch_class(key[0]), key[1])), row["figure"]))
    return out


def human_labels(measure: np.ndarray, beat: np.ndarray,
                 events: Sequence[HumanNumeral]) -> tuple[list[str | None], list[str | None]]:
    """(numeral, key) of the human analysis at each chord onset: the analyst's last numeral at or
    before the onset's (measure, beat); onsets before the first numeral get none."""
    marks = sorted(((e.measure, e.beat), i) for i, e in enumerate(events))
    numerals: list[str | None] = []
    keys: list[str | None] = []
    j = -1
    for m, b in zip(measure, beat):
        while j + 1 < len(marks) and marks[j + 1][0] <= (int(m), float(b)):
            j += 1
        e = events[marks[j][1]] if j >= 0 else None
        numerals.append(None if e is None else e.figure)
        keys.append(None if e is None else e.key)
    return numerals, keys


def transpose(chorale: Chorale, shift: int) -> Chorale:
    """A copy of ``chorale`` with every pitch moved up ``shift`` semitones (Roman numerals and
    everything rhythmic stay)."""
    return replace(chorale, key=((chorale.key[0] + shift) % 12, chorale.key[1]),
                   root=[(r + shift) % 12 for r in chorale.root],
                   pcs=[tuple(sorted((p + shift) % 12 for p in ps)) for ps in chorale.pcs], shift=chorale.shift + shift)


@dataclass
class Labelled:
    """One chorale's derived labels (one entry per chord)."""

    chords: list[tuple[int, str]]
    exact: list[bool]
    symbols: list[str]
    keys: list[tuple[int, str]]
    numerals: list[str]
    cadences: list[str | None]


def label_chorale(c: Chorale) -> Labelled:
    """Chord symbols, local keys, local numerals and cadences of one chorale."""
    found = [chord_symbol(r, p) for r, p in zip(c.root, c.pcs)]
    chords = [(r, q) for r, q, _ in found]
    keys = local_keys(c.pcs, c.duration, c.offset)
    numerals = [local_numeral(r, q, k) for (r, q), k in zip(chords, keys)]
    return Labelled(chords, [e for _, _, e in found], [symbol_name(r, q) for r, q in chords], keys, numerals,
                    cadence_labels(chords, c.fermata, keys))


def chorale_tokens(chorales: Sequence[Chorale]) -> list[list[str]]:
    """The chord-symbol token sequence of each chorale (before the vocabulary's ``other``)."""
    return [[symbol_name(*chord_symbol(r, p)[:2]) for r, p in zip(c.root, c.pcs)] for c in chorales]


def _tracks(chorales: list[Chorale], labelled: list[Labelled],
            human: dict[int, list[HumanNumeral]]) -> list[Track]:
    """Keys, numerals, function, phrase end, cadence, human analysis, transposition and beat."""
    def flat(get) -> list:
        return [x for c, lab in zip(chorales, labelled) for x in get(c, lab)]

    key_labels = flat(lambda c, lab: [key_name(c.key)] * len(c.root))
    local = flat(lambda c, lab: [key_name(k) for k in lab.keys])
    numerals = flat(lambda c, lab: lab.numerals)
    fermata = flat(lambda c, lab: list(c.fermata))
    hum_num: list[str | None] = []
    hum_key: list[str | None] = []
    for c in chorales:
        if c.number in human:
            a, b = human_labels(c.measure, c.beat, human[c.number])
            if c.shift:  # the analyst's numerals are key-relative; their keys move with the music
                b = [None if k is None else key_name(((_parse_key(k)[0] + c.shift) % 12, _parse_key(k)[1]))
                     for k in b]
        else:
            a = b = [None] * len(c.root)
        hum_num += a
        hum_key += b

    def key_order(keys: list[str]) -> list[str]:
        return sorted(set(keys), key=lambda k: (k.split()[1], pitch_class(k.split()[0])))

    shifts = sorted({c.shift for c in chorales})
    shift_name = {s: "original" if s == 0 else f"up {s}" for s in shifts}
    return [
        Track("key", "categorical", "key of the chorale (music21 analyze('key') on the whole chorale)",
              labels=key_labels, categories=key_order(key_labels)),
        Track("local_key", "categorical",
              f"local key: Krumhansl-Kessler profiles correlated with the pitch classes sounding within "
              f"{LOCAL_KEY_HALF_WINDOW:g} quarter notes of the onset, weighted by duration",
              labels=local, categories=key_order(local)),
        Track("local_numeral", "categorical",
              "Roman numeral of the chord symbol in the local key (V7, viio, bVII; no inversions)", labels=numerals),
        Track("roman_numeral", "categorical",
              "music21 romanNumeralFromChord in the chorale's key, with inversion (the earlier tokens)",
              labels=flat(lambda c, lab: c.figures)),
        Track("function", "categorical",
              "harmonic function of the local numeral: T (I, III, VI), S (II, IV), D (V, VII, and any dominant "
              "or diminished seventh)", labels=[harmonic_function(x) for x in numerals], categories=["T", "S", "D"]),
        Track("phrase_end", "categorical", "chord under a soprano fermata (end of a phrase)",
              labels=["fermata" if f else None for f in fermata], categories=["fermata"]),
        Track("cadence", "categorical",
              "cadence at the phrase end, approach chord to fermata chords: half (ends on V of the local key), "
              "authentic (a dominant of the final chord -> that chord), plagal IV -> I, deceptive V -> vi, other",
              labels=flat(lambda c, lab: lab.cadences), categories=list(CADENCES)),
        Track("human_numeral", "categorical",
              "the human Roman-numeral analysis (music21 corpus, chorales 1-20 only): the analyst's numeral in "
              "force at the chord onset", labels=hum_num),
        Track("human_key", "categorical", "the key of the human analysis (chorales 1-20 only)", labels=hum_key),
        Track("sonority", "categorical",
              "exact: the notes are the chord symbol's (a fifth may be missing); reduced: passing or suspended "
              "notes, read as the chord that explains most of them",
              labels=flat(lambda c, lab: ["exact" if e else "reduced" for e in lab.exact]),
              categories=["exact", "reduced"]),
        Track("transposition", "categorical",
              "original key, or a held-out chorale transposed up n semitones",
              labels=[shift_name[c.shift] for c in chorales for _ in c.root],
              categories=[shift_name[s] for s in shifts]),
        Track("on_beat", "categorical", "chord onset on a quarter-note beat or between beats",
              labels=flat(lambda c, lab: ["on beat" if b else "off beat" for b in (c.offset % 1.0 == 0)]),
              categories=["on beat", "off beat"]),
    ]


CHORALES_DESCRIPTION = """\
**Bach chorales as chord symbols (the paper's chord-progression use case).** The 371 \
four-part chorales of music21's corpus (Riemenschneider numbering; music21 is BSD-licensed, \
the music is public domain) were chordified by scripts/extract_chorales.py; each chord onset is \
one token, its absolute chord symbol (root and quality: `G`, `D7`, `Em`, `F#dim`; one spelling \
per pitch class, symbols seen fewer than 5 times are `other`). Model: a {layers}-layer LSTM with \
{hidden} cells per layer trained by scripts/train_chorales.py (torch, seed 1; chorales 1-334, \
held out 335-371: perplexity {ppl:.2f} per chord), run here in numpy from a zero state over each \
chorale. Documents: the {originals} chorales, then the {held_out} held-out ones transposed up \
{shifts} semitones ({docs} documents, {n:,} chords). Tracks: chorale key, local key (a window of ±6 quarter notes), \
Roman numeral in the local key, music21's numeral in the chorale key, harmonic function (T/S/D), \
phrase ends (soprano fermatas), cadence (authentic / plagal / half / deceptive / other), the human \
Roman-numeral analyses of chorales 1-20, transposition, top-3 next-chord predictions, surprisal. \
**Try first:** source `{source}`, select positions {start}-{end} (`{range_text}`, {where}) with \
threshold {threshold}, match, and align against `cadence` (Match page: Tracks tested `cadence`). {finding}"""

CHORALES_HYPOTHESIS: dict[str, object] = {"source": "layer1_h", "threshold": 0.5}


def _with_shifts(chorales: list[Chorale], shifts: Sequence[int]) -> list[Chorale]:
    """The chorales, then every held-out chorale transposed by each shift in turn."""
    held = [c for c in chorales if c.number > N_TRAIN]
    return chorales + [transpose(c, s) for s in shifts for c in held]


def _cut(chorales: list[Chorale], limit: int | None) -> list[Chorale]:
    """The chorales within the first ``limit`` chords (the last one truncated)."""
    if limit is None:
        return chorales
    kept: list[Chorale] = []
    left = limit
    for c in chorales:
        if left <= 0:
            break
        t = min(left, len(c.root))
        kept.append(replace(c, measure=c.measure[:t], beat=c.beat[:t], offset=c.offset[:t], duration=c.duration[:t],
                            root=c.root[:t], pcs=c.pcs[:t], figures=c.figures[:t], fermata=c.fermata[:t]))
        left -= t
    return kept


_DEMO = common.SmallLstmDemo(
    "chorales", "chord", "chord", 8.0, "music21 corpus, 371 Bach chorales (Riemenschneider numbering)",
    "lstmvis_db.demos (scripts/extract_chorales.py, scripts/train_chorales.py)", CHORALES_DESCRIPTION)


def chorales_data(limit: int | None = None, data_dir: Path | None = None,
                  progress: common.Report | None = None, size: str = "default") -> ProjectData:
    """Build the Bach-chorales demo's :class:`ProjectData` (``limit``: first N chords only;
    ``size``: ``default`` transposes the held-out chorales by :data:`DEFAULT_SHIFTS`, ``full``
    by all eleven)."""
    from lstmvis_db.demos.findings import stated_finding

    report = common.reporter(progress)
    chords_path = common.verify_data_file("chorales/chorales.tsv.gz", data_dir)
    human = read_analyses(common.verify_data_file("chorales/analyses.tsv.gz", data_dir))
    arrays = common.load_arrays(common.verify_data_file("chorales/weights.npz", data_dir))
    stoi = {str(t): i for i, t in enumerate(arrays["vocab"])}
    originals = read_chorales(chords_path)
    shifts = FULL_SHIFTS if size == "full" else DEFAULT_SHIFTS
    chorales = _cut(_with_shifts(originals, shifts), limit)
    labelled = [label_chorale(c) for c in chorales]
    tokens = [t if t in stoi else "other" for lab in labelled for t in lab.symbols]
    ids = [np.array([stoi.get(t, 0) for t in lab.symbols], np.int64) for lab in labelled]
    lstm = common.run_small_lstm(arrays, ids, report)
    cadences = [x for lab in labelled for x in lab.cadences]
    documents = common.documents_from([c.name for c in chorales], [len(c.root) for c in chorales])
    hyp: dict[str, object] = dict(CHORALES_HYPOTHESIS)
    start, end, where = chorales_hypothesis_range(tokens, cadences, documents, [c.number for c in chorales])
    ppl = float(np.exp(lstm.valid_loss))
    hyp.update(start=start, end=end, range_text=" ".join(tokens[start:end + 1]), where=where, ppl=ppl,
               originals=sum(c.shift == 0 for c in chorales), held_out=sum(c.number > N_TRAIN for c in originals),
               shifts=", ".join(str(s) for s in shifts), finding=stated_finding("chorales", size))
    data = common.small_lstm_project(_DEMO, lstm, tokens, ids, report, documents=documents,
                                     tracks=_tracks(chorales, labelled, human), hyp=hyp)
    data.extra.update(size=size, transpositions=",".join(str(s) for s in shifts))
    return data


def chorales_hypothesis_range(tokens: list[str], cadences: list[str | None], documents: list[Document],
                              numbers: Sequence[int]) -> tuple[int, int, str]:
    """The suggested hypothesis: the first authentic cadence of a held-out chorale in its original
    key whose approach chord is directly before the final chord and not a chorale's first chord;
    without one (a cut build), the first such cadence anywhere.  Returns (start, end, where)."""
    for held_only in (True, False):
        for doc, number in zip(documents, numbers):
            if held_only and (number <= N_TRAIN or "transposed" in doc.name):
                continue
            for i in range(doc.first_pos + 1, doc.last_pos + 1):
                if (cadences[i] == "authentic" and cadences[i - 1] == "authentic" and tokens[i] != tokens[i - 1]
                        and (i - 1 == doc.first_pos or cadences[i - 2] != "authentic")
                        and "other" not in (tokens[i - 1], tokens[i])):
                    return i - 1, i, f"an authentic cadence in {doc.name}"
    return 0, 1, "the start of the first chorale"
