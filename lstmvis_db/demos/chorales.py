"""The Bach-chorales demo: absolute chord symbols of Bach's 371 chorales (music21 corpus,
extracted by ``scripts/extract_chorales.py``) read by a small LSTM trained by
``scripts/train_chorales.py``, run in numpy; held-out chorales also transposed, so that a
hypothesis found in one key can be checked in others.

Everything musical past music21's chordify lives here and needs no music21: chord symbols from
the root and pitch classes (:func:`chord_symbol`), local keys (:func:`krumhansl_key` over a
window around each chord), Roman numerals in the local key (:func:`local_numeral`), harmonic functions
(:func:`harmonic_function`), cadences (:func:`cadence_labels`), the human analyses aligned to
the chord onsets (:func:`human_labels`) and transposition (:func:`transpose`).
:func:`chorales_data` is the builder the registry calls.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from lstmvis_db.demos import common
from lstmvis_db.types import Document, ProjectData, Track

__all__ = ["CHORALES_HYPOTHESIS", "CHORALES_MIN_COUNT", "DEFAULT_SHIFTS", "FULL_SHIFTS", "N_TRAIN", "PITCH_NAMES",
           "Chorale", "cadence_labels", "chord_symbol", "chorale_tokens", "chorales_data", "chorales_hypothesis_range",
           "harmonic_function", "human_labels", "krumhansl_key", "local_keys", "local_numeral",
           "pitch_class", "read_analyses", "read_chorales", "symbol_name", "transpose"]

#: One spelling per pitch class (the usual keyboard / chord-chart names): enharmonic equivalents
#: such as D# and Eb are one token, and transposition is arithmetic on pitch classes.
PITCH_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

#: Chord qualities as interval sets above the root.  Exact forms first (incomplete chords: no
#: fifth); a sonority that is none of them is read as the full form that explains it best.
_EXACT: dict[frozenset[int], str] = {
    frozenset({0, 4, 7}): "", frozenset({0, 4}): "",
    frozenset({0, 3, 7}): "m", frozenset({0, 3}): "m",
    frozenset({0, 4, 7, 10}): "7", frozenset({0, 4, 10}): "7",
    frozenset({0, 3, 6}): "dim",
    frozenset({0, 3, 7, 10}): "m7", frozenset({0, 3, 10}): "m7",
    frozenset({0, 3, 6, 10}): "ø7",
    frozenset({0, 3, 6, 9}): "dim7",
    frozenset({0, 4, 7, 11}): "maj7", frozenset({0, 4, 11}): "maj7",
    frozenset({0, 4, 8}): "aug",
    frozenset({0, 7}): "5", frozenset({0}): "5",
}
_FULL: tuple[tuple[str, frozenset[int]], ...] = (
    ("", frozenset({0, 4, 7})), ("m", frozenset({0, 3, 7})), ("7", frozenset({0, 4, 7, 10})),
    ("dim", frozenset({0, 3, 6})), ("m7", frozenset({0, 3, 7, 10})), ("ø7", frozenset({0, 3, 6, 10})),
    ("dim7", frozenset({0, 3, 6, 9})), ("maj7", frozenset({0, 4, 7, 11})), ("aug", frozenset({0, 4, 8})),
)
_MINORISH = {"m", "dim", "m7", "ø7", "dim7"}

#: Krumhansl-Kessler key profiles (tonic first).
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])

#: Roman numerals of the root's interval above the tonic: the major scale in major, the harmonic
#: minor scale in minor (so the leading-tone chord is vii, the subtonic bVII); other roots carry
#: an accidental.
_DEGREES = {
    "major": {0: "I", 1: "bII", 2: "II", 3: "bIII", 4: "III", 5: "IV", 6: "#IV", 7: "V", 8: "bVI", 9: "VI",
              10: "bVII", 11: "VII"},
    "minor": {0: "I", 1: "bII", 2: "II", 3: "III", 4: "#III", 5: "IV", 6: "#IV", 7: "V", 8: "VI", 9: "#VI",
              10: "bVII", 11: "VII"},
}
_NUMERAL_SUFFIX = {"": "", "m": "", "5": "", "7": "7", "dim": "o", "m7": "7", "ø7": "ø7", "dim7": "o7",
                   "maj7": "maj7", "aug": "+"}
_FUNCTION_OF_NUMERAL = {"I": "T", "III": "T", "VI": "T", "II": "S", "IV": "S", "V": "D", "VII": "D"}
_NUMERAL_RE = re.compile(r"^(?P<acc>[b#]?)(?P<num>VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)(?P<suffix>.*)$")

#: Transpositions of the held-out chorales (semitones up): the default build's and the full one's.
DEFAULT_SHIFTS = (2, 5, 6)
FULL_SHIFTS = tuple(range(1, 12))
N_TRAIN = 334  # chorales 1-334 train the model; 335-371 are held out (and transposed)
CHORALES_MIN_COUNT = 5  # chord symbols rarer than this in the corpus are the token "other"
#: Half width of the local key's window in quarter notes (chosen against the human analyses' keys,
#: see data/README.md).
LOCAL_KEY_HALF_WINDOW = 6.0
#: Phrase ends of chorales 1-20 (of 120) where the cadence track agrees with the cadence read off the
#: human analysis (tests/unit/test_demo_chorales.py); the chorale key instead of the local key: 85.
HUMAN_CADENCE_AGREEMENT = 97
CADENCES = ("authentic", "plagal", "half", "deceptive", "other")


def pitch_class(name: str) -> int:
    """Pitch class of a music21 pitch name: ``C`` 0, ``F#`` 6, ``B-`` 10, ``E--`` 2."""
    m = re.fullmatch(r"([A-G])([#\-b]*)", name.strip())
    if not m:
        raise ValueError(f"not a pitch name: {name!r}")
    acc = m.group(2)
    return (_LETTER_PC[m.group(1)] + acc.count("#") - acc.count("-") - acc.count("b")) % 12


def symbol_name(root: int, quality: str) -> str:
    """``G``, ``D7``, ``Em``, ``F#dim``: the root's name (:data:`PITCH_NAMES`) and the quality."""
    return PITCH_NAMES[root % 12] + quality


def chord_symbol(root: int, pcs: Sequence[int]) -> tuple[int, str, bool]:
    """(root, quality, exact) of a sounding pitch-class set with music21's root ``root``.

    Qualities: ``""`` major, ``m`` minor, ``7`` dominant seventh, ``dim``, ``m7``, ``ø7``
    (half-diminished), ``dim7``, ``maj7``, ``aug``, ``5`` (bare fifth or unison).  When the set
    relative to ``root`` is one of these (a triad or seventh without its fifth counts), that is
    the symbol (exact).  Otherwise (passing and suspended notes) every root and full chord form
    is scored by matched notes minus unexplained notes; the best wins, ties going to music21's
    root, then to the order above, then to the lower root.
    """
    chord = frozenset(p % 12 for p in pcs)
    rel = frozenset((p - root) % 12 for p in chord)
    if rel in _EXACT:
        return root % 12, _EXACT[rel], True
    best: tuple[tuple[int, int, int, int], int, str] | None = None
    for cand in range(12):
        rel = frozenset((p - cand) % 12 for p in chord)
        for order, (quality, form) in enumerate(_FULL):
            if 0 not in rel:
                continue
            score = len(rel & form) - len(rel - form)
            key = (-score, 0 if cand == root % 12 else 1, order, cand)
            if best is None or key < best[0]:
                best = (key, cand, quality)
    if best is None:  # no pitch at all: cannot happen for a chordify onset
        return root % 12, "5", False
    return best[1], best[2], False


_PROFILES = np.stack([np.roll(_KK_MAJOR, t) for t in range(12)] + [np.roll(_KK_MINOR, t) for t in range(12)])


def _key_scores(weights: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``weights`` (n x 12) with the 24 profiles (n x 24:
    major keys on C..B, then minor keys)."""
    w = np.atleast_2d(np.asarray(weights, np.float64))
    wc = w - w.mean(axis=1, keepdims=True)
    pc = _PROFILES - _PROFILES.mean(axis=1, keepdims=True)
    norm = np.sqrt((wc * wc).sum(axis=1, keepdims=True)) * np.sqrt((pc * pc).sum(axis=1))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (wc @ pc.T) / norm
    return np.where(np.isfinite(r), r, -2.0)


def _best_key(scores: np.ndarray) -> tuple[int, str]:
    i = int(np.argmax(scores))  # the first maximum: major before minor, then the lower tonic
    return i % 12, "major" if i < 12 else "minor"


def krumhansl_key(weights: np.ndarray) -> tuple[int, str]:
    """The key (tonic pitch class, ``major``/``minor``) whose Krumhansl-Kessler profile has the
    highest Pearson correlation with the 12 pitch-class ``weights``; ties: major before minor,
    then the lower tonic.  All-zero (or constant) weights: C major."""
    return _best_key(_key_scores(weights)[0])


def key_name(key: tuple[int, str]) -> str:
    """``G major``, ``F# minor``."""
    return f"{PITCH_NAMES[key[0]]} {key[1]}"


def local_keys(pcs: Sequence[Sequence[int]], duration: np.ndarray, offset: np.ndarray,
               half_window: float = LOCAL_KEY_HALF_WINDOW) -> list[tuple[int, str]]:
    """Each chord's local key: :func:`krumhansl_key` over the chords of its chorale that sound
    within ``half_window`` quarter notes of its onset (a chord counts when it overlaps
    [onset - half_window, onset + half_window]), every sounding pitch class weighted by the
    chord's duration inside the window."""
    start = np.asarray(offset, np.float64)
    stop = start + np.asarray(duration, np.float64)
    member = np.zeros((len(pcs), 12))
    for i, ps in enumerate(pcs):
        member[i, [p % 12 for p in ps]] = 1.0
    lo, hi = start - half_window, start + half_window
    inside = np.clip(np.minimum(stop[None, :], hi[:, None]) - np.maximum(start[None, :], lo[:, None]), 0.0, None)
    scores = _key_scores(inside @ member)
    return [_best_key(row) for row in scores]


def local_numeral(root: int, quality: str, key: tuple[int, str]) -> str:
    """Roman numeral of a chord in a key: degree of the root (:data:`_DEGREES`), upper case for
    major-third chords, lower case for minor-third ones, and ``o`` / ``o7`` / ``ø7`` / ``7`` /
    ``maj7`` / ``+``: ``V7``, ``viio``, ``ii``, ``bVII``, ``#ivo7``."""
    numeral = _DEGREES[key[1]][(root - key[0]) % 12]
    acc, letters = (numeral[0], numeral[1:]) if numeral[0] in "b#" else ("", numeral)
    if quality in _MINORISH:
        letters = letters.lower()
    return acc + letters + _NUMERAL_SUFFIX[quality]


def harmonic_function(numeral: str) -> str | None:
    """T, S or D of a :func:`local_numeral`: dominant-seventh and diminished-seventh chords are
    D on any degree (applied dominants); otherwise by the numeral's letters, accidentals aside:
    I, III, VI -> T; II, IV -> S (so bII, the Neapolitan, is S); V, VII -> D.  Not a numeral: None."""
    m = _NUMERAL_RE.match(numeral)
    if not m:
        return None
    if m.group("suffix") in ("7", "o7") and m.group("num").isupper() == (m.group("suffix") == "7"):
        return "D"
    return _FUNCTION_OF_NUMERAL[m.group("num").upper()]


def _is_dominant(root: int, quality: str, tonic: int) -> bool:
    """Whether the chord is a dominant of ``tonic``: V or V7 (root a fifth above, major third),
    or vii°, vii°7, viiø7 (root a semitone below, diminished fifth)."""
    step = (root - tonic) % 12
    return (step == 7 and quality in ("", "7")) or (step == 11 and quality in ("dim", "dim7", "ø7"))


def cadence_labels(chords: Sequence[tuple[int, str]], fermata: np.ndarray,
                   keys: Sequence[tuple[int, str]]) -> list[str | None]:
    """The cadence at each phrase end of one chorale, on the approach and the final chords.

    A phrase end is a run of chords under a soprano fermata.  Its final chord F is the first chord
    of the run; the approach chord A is the last chord before F with another chord symbol (root
    and quality); t is the tonic of F's local key.  In this order:

    * half: F is V or V7 of the local key (root t + 7, major third);
    * authentic: A is a dominant of F's root (V, V7, vii°, vii°7 or viiø7 of F) and F is a major
      or minor triad or a bare fifth: a full close on F, in the local key or in a key it
      tonicizes (V -> I, V7 -> i, V/vi -> vi);
    * plagal: F has root t (major, minor or bare fifth) and A is IV or iv of t;
    * deceptive: A is a dominant of t and F is vi in major (root t + 9, minor) or VI in minor
      (root t + 8, major);
    * other: anything else (also a phrase whose F has no A before it in the chorale).

    The label covers A, the chords between A and F (repetitions of F) and the whole fermata run;
    every other chord has none.  Checked against cadences read off the human analyses of
    chorales 1-20 (tests/unit/test_demo_chorales.py).
    """
    labels: list[str | None] = [None] * len(chords)
    i, n = 0, len(chords)
    while i < n:
        if not fermata[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and fermata[j + 1]:
            j += 1
        tonic, mode = keys[i]
        froot, fqual = chords[i]
        k = i - 1
        while k >= 0 and chords[k] == chords[i]:
            k -= 1
        fstep = (froot - tonic) % 12
        kind = "other"
        if fstep == 7 and fqual in ("", "7"):
            kind = "half"
        elif k >= 0:
            aroot, aqual = chords[k]
            closes = fqual in ("", "m", "5")
            if closes and _is_dominant(aroot, aqual, froot):
                kind = "authentic"
            elif closes and fstep == 0 and (aroot - tonic) % 12 == 5 and aqual in ("", "m"):
                kind = "plagal"
            elif _is_dominant(aroot, aqual, tonic) and ((mode == "major" and fstep == 9 and fqual == "m")
                                                         or (mode == "minor" and fstep == 8 and fqual == "")):
                kind = "deceptive"
        for p in range(max(k, 0) if k >= 0 else i, j + 1):
            labels[p] = kind
        i = j + 1
    return labels


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
threshold {threshold}, match, and align against `cadence`. {finding}"""

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
