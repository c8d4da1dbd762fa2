"""The harmony labelling of the chorales demo, from pitch classes alone (no music21 at run time):
chord symbols from a root and its pitch classes (:func:`chord_symbol`, one spelling per pitch
class), local keys by the Krumhansl-Kessler profiles over a window around each chord
(:func:`local_keys`), Roman numerals in the local key (:func:`local_numeral`), harmonic
functions (:func:`harmonic_function`) and cadences at phrase ends (:func:`cadence_labels`).
The chorale files, the human analyses and the demo build are in :mod:`lstmvis_db.demos.chorales`.

Imports numpy only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

__all__ = ["CADENCES", "HUMAN_CADENCE_AGREEMENT", "LOCAL_KEY_HALF_WINDOW", "PITCH_NAMES", "cadence_labels",
           "chord_symbol", "harmonic_function", "key_name", "krumhansl_key", "local_keys", "local_numeral",
           "pitch_class", "symbol_name"]

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
