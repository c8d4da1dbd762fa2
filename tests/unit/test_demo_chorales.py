"""The chorales demo's chord labels: chord symbols, keys, numerals, functions, cadences, the human
analyses aligned to the chord onsets, and transposition (hand-computed values and the committed
data)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lstmvis_db.demos import chorales as ch
from lstmvis_db.demos import chords
from lstmvis_db.demos.common import DATA_DIR, verify_data_file

G_MAJOR = (7, "major")


def test_chord_symbols_by_hand() -> None:
    assert chords.chord_symbol(7, [2, 7, 11]) == (7, "", True)            # G B D
    assert chords.chord_symbol(2, [0, 2, 6, 9]) == (2, "7", True)         # D F# A C
    assert chords.chord_symbol(4, [4, 7, 11]) == (4, "m", True)           # E G B
    assert chords.chord_symbol(6, [0, 6, 9]) == (6, "dim", True)          # F# A C
    assert chords.chord_symbol(6, [0, 4, 6, 9]) == (6, "ø7", True)        # F# A C E
    assert chords.chord_symbol(8, [2, 5, 8, 11]) == (8, "dim7", True)     # G# B D F
    assert chords.chord_symbol(7, [2, 7]) == (7, "5", True)               # bare fifth
    assert chords.chord_symbol(2, [2, 6]) == (2, "", True)                # D F#, no fifth
    # a passing A over G B D: G major explains 3 of 4 notes (score 2), nothing does better
    assert chords.chord_symbol(7, [2, 7, 9, 11]) == (7, "", False)
    # C D G (a suspended second): C major and G major both score 1; music21's root decides
    assert chords.chord_symbol(0, [0, 2, 7]) == (0, "", False)
    assert chords.chord_symbol(7, [0, 2, 7]) == (7, "", False)


def test_spelling_is_one_name_per_pitch_class() -> None:
    assert chords.pitch_class("B-") == 10 and chords.pitch_class("E--") == 2 and chords.pitch_class("B#") == 0
    pc = chords.pitch_class
    assert chords.symbol_name(pc("D#"), "m") == chords.symbol_name(pc("E-"), "m") == "Ebm"
    assert chords.symbol_name(6, "dim") == "F#dim" and chords.symbol_name(10, "m7") == "Bbm7"


def test_numerals_and_functions_by_hand() -> None:
    assert chords.local_numeral(2, "7", G_MAJOR) == "V7"
    assert chords.local_numeral(6, "dim", G_MAJOR) == "viio"
    assert chords.local_numeral(9, "m7", G_MAJOR) == "ii7"
    a_minor = (9, "minor")
    assert chords.local_numeral(10, "", a_minor) == "bII"                 # the Neapolitan
    assert chords.local_numeral(7, "", a_minor) == "bVII"                 # the subtonic
    assert chords.local_numeral(4, "7", a_minor) == "V7"
    assert chords.local_numeral(8, "dim7", a_minor) == "viio7"
    assert chords.local_numeral(5, "", a_minor) == "VI"
    assert [chords.harmonic_function(x) for x in ("I", "vi", "iii", "ii7", "IV", "bII", "V7", "viio", "VI")] == \
        ["T", "T", "T", "S", "S", "S", "D", "D", "T"]
    assert chords.harmonic_function("I7") == "D" and chords.harmonic_function("#ivo7") == "D"  # applied dominants
    assert chords.harmonic_function("?") is None


def test_krumhansl_key_finds_the_profiles_own_key() -> None:
    assert chords.krumhansl_key(np.roll(chords._KK_MINOR, 9)) == (9, "minor")
    assert chords.krumhansl_key(np.roll(chords._KK_MAJOR, 7)) == (7, "major")
    c_scale = np.zeros(12)
    c_scale[[0, 2, 4, 5, 7, 9, 11]] = 1.0
    c_scale[[0, 4, 7]] += 1.0
    assert chords.krumhansl_key(c_scale) == (0, "major")
    assert chords.krumhansl_key(np.zeros(12)) == (0, "major")


def test_cadence_definition_by_hand() -> None:
    sym = {"G": (7, ""), "C": (0, ""), "D7": (2, "7"), "D": (2, ""), "Em": (4, "m"), "Am": (9, "m"),
           "A7": (9, "7"), "B7": (11, "7"), "F#dim": (6, "dim")}
    seq = ["G", "C", "D7", "G", "G",      # authentic V7 -> I, the final chord repeated under the fermata
           "Em", "Am", "D",               # half: ends on V
           "C", "G",                      # plagal IV -> I
           "D", "Em",                     # deceptive V -> vi
           "A7", "D",                     # V/V -> V is half, not authentic
           "B7", "Em",                    # authentic close on vi (tonicized)
           "F#dim", "G", "C"]             # vii -> I, then C after the fermata: no label
    ferm = np.array([0, 0, 0, 1, 1, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0], bool)
    labels = chords.cadence_labels([sym[s] for s in seq], ferm, [G_MAJOR] * len(seq))
    assert labels[:2] == [None, None] and labels[2:5] == ["authentic"] * 3
    assert labels[5] is None and labels[6:8] == ["half", "half"]
    assert labels[8:10] == ["plagal", "plagal"]
    assert labels[10:12] == ["deceptive", "deceptive"]
    assert labels[12:14] == ["half", "half"]
    assert labels[14:16] == ["authentic", "authentic"]
    assert labels[16:18] == ["authentic", "authentic"] and labels[18] is None
    # a fermata on the first chord has no approach chord
    assert chords.cadence_labels([(7, "")], np.array([True]), [G_MAJOR]) == ["other"]


def test_human_labels_in_force_at_each_onset() -> None:
    events = [ch.HumanNumeral(0, 3.0, "G major", "I"), ch.HumanNumeral(1, 2.0, "G major", "IV6"),
              ch.HumanNumeral(1, 3.0, "D major", "V6")]
    measure = np.array([0, 0, 1, 1, 1, 1, 2])
    beat = np.array([2.0, 3.0, 1.0, 2.0, 2.5, 3.0, 1.0])
    numerals, keys = ch.human_labels(measure, beat, events)
    assert numerals == [None, "I", "I", "IV6", "IV6", "V6", "V6"]
    assert keys == [None, "G major", "G major", "G major", "G major", "D major", "D major"]


@pytest.fixture(scope="module")
def committed():
    chorales = ch.read_chorales(verify_data_file("chorales/chorales.tsv.gz"))
    analyses = ch.read_analyses(verify_data_file("chorales/analyses.tsv.gz"))
    return chorales, analyses


def test_committed_data_has_all_chorales_and_the_20_analyses(committed) -> None:
    chorales, analyses = committed
    assert [c.number for c in chorales] == list(range(1, 372))
    assert sorted(analyses) == list(range(1, 21))
    assert chorales[0].name == "1. Aus meines Herzens Grunde (BWV 269)"


def test_human_analysis_aligned_on_chorale_1(committed) -> None:
    """riemenschneider001.rntxt: m0 b3 G: I / m1 b2 IV6 b3 V6 / m2 I b2 V b3 vi / ... / m4 V || b3 I /
    m10 V || b3 vi.  Each onset gets the numeral in force (chordify also has passing onsets)."""
    chorales, analyses = committed
    c = chorales[0]
    numerals, keys = ch.human_labels(c.measure, c.beat, analyses[1])
    at = {(int(m), float(b)): n for m, b, n in zip(c.measure, c.beat, numerals)}
    assert at[(0, 3.0)] == "I"
    assert at[(1, 2.0)] == "IV6" and at[(1, 2.5)] == "IV6" and at[(1, 3.0)] == "V6"
    assert at[(2, 1.0)] == "I" and at[(2, 2.0)] == "V" and at[(2, 3.0)] == "vi"
    assert at[(4, 1.0)] == "V" and at[(4, 3.0)] == "I"
    assert at[(10, 1.0)] == "V" and at[(10, 3.0)] == "vi"
    assert set(keys) == {"G major"}
    # and the chords there, as chordify gives them
    lab = ch.label_chorale(c)
    sym = {(int(m), float(b)): s for m, b, s in zip(c.measure, c.beat, lab.symbols)}
    assert (sym[(1, 2.0)], sym[(1, 3.0)], sym[(2, 3.0)], sym[(4, 1.0)]) == ("C", "D", "Em", "D")
    # m20-21: V7 -> I at the last fermata is authentic for the analyst and for the track.  (At m4,
    # G -> D, the analyst hears a half cadence in G; the ±6-quarter window already leans to D major
    # and the track says plagal: one of the 23 disagreements of 120.)
    finals = [i for i, f in enumerate(c.fermata) if f and (i == 0 or not c.fermata[i - 1])]
    assert at[(21, 1.0)] == "I" and lab.symbols[finals[-1] - 1:finals[-1] + 1] == ["D7", "G"]
    assert lab.cadences[finals[-1]] == "authentic" and lab.cadences[finals[0]] == "plagal"


def _human_cadence(hn: list[str | None], hk: list[str | None], i: int, k: int) -> str:
    """The cadence the human analysis gives at final onset i with approach onset k (same rules,
    read from the analyst's numerals and keys)."""
    def degree(x: str | None) -> str:
        m = re.match(r"^[b#]?(VII|VI|IV|V|III|II|I|vii|vi|iv|v|iii|ii|i)", x or "")
        return m.group(0) if m else ""
    f, a = hn[i] or "", hn[k] or "" if k >= 0 else ""
    if "/" in f:
        return "other"
    if degree(f) == "V":
        return "half"
    same_key = k >= 0 and hk[i] == hk[k] and "/" not in a
    if degree(f) in ("I", "i") and same_key and degree(a) in ("V", "vii"):
        return "authentic"
    if degree(f) in ("I", "i") and same_key and degree(a) in ("IV", "iv"):
        return "plagal"
    if degree(f) in ("vi", "VI") and degree(a) == "V" and "/" not in a:
        return "deceptive"
    return "other"


def test_cadences_agree_with_the_human_analyses(committed) -> None:
    """At the phrase ends of chorales 1-20, the cadence track agrees with the cadence read off the
    analyst's numerals at least 80% of the time (the figure data/README.md states)."""
    chorales, analyses = committed
    agree = total = 0
    for c in chorales[:20]:
        lab = ch.label_chorale(c)
        hn, hk = ch.human_labels(c.measure, c.beat, analyses[c.number])
        for i in range(len(c.root)):
            if c.fermata[i] and (i == 0 or not c.fermata[i - 1]):
                k = i - 1
                while k >= 0 and lab.chords[k] == lab.chords[i]:
                    k -= 1
                total += 1
                agree += _human_cadence(hn, hk, i, k) == lab.cadences[i]
    assert total == 120
    assert agree == chords.HUMAN_CADENCE_AGREEMENT and agree / total >= 0.8


def test_transposition_moves_symbols_and_keeps_labels(committed) -> None:
    chorales, _ = committed
    c = chorales[340]
    base = ch.label_chorale(c)
    for shift in (2, 5, 6, 11):
        t = ch.transpose(c, shift)
        lab = ch.label_chorale(t)
        assert lab.cadences == base.cadences and lab.numerals == base.numerals
        assert [(r + shift) % 12 for r, _ in base.chords] == [r for r, _ in lab.chords]
        assert [q for _, q in base.chords] == [q for _, q in lab.chords]
        assert t.figures == c.figures and t.key == ((c.key[0] + shift) % 12, c.key[1])
        assert t.name.endswith(f", transposed up {shift}")


def test_analyses_file_is_checked(tmp_path) -> None:
    import shutil

    from lstmvis_db.errors import InputError

    target = tmp_path / "chorales" / "analyses.tsv.gz"
    target.parent.mkdir(parents=True)
    shutil.copyfile(DATA_DIR / "chorales" / "analyses.tsv.gz", target)
    raw = bytearray(target.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="analyses.tsv.gz.*corrupted.*scripts/extract_chorales.py"):
        verify_data_file("chorales/analyses.tsv.gz", tmp_path)
