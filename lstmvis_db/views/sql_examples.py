"""The SQL console's example queries, filled in with the current view's values, and the tables
a query may read.  Standard library only (literals through :func:`lstmvis_db.sqltext.sql_literal`)."""

from __future__ import annotations

from lstmvis_db.sqltext import sql_literal

__all__ = ["PUBLIC_TABLES", "example_queries"]

PUBLIC_TABLES = ("project", "sources", "documents", "tokens", "states", "tracks", "annotations", "predictions")


def example_queries(source: str, cell: int, threshold: float, brush: tuple[int, int] | None,
                    pad_left: int, pad_right: int, track: str | None) -> dict[str, str]:
    """Example SQL for the console, filled in with the current view's values."""
    a, b = brush if brush is not None else (10, 12)
    src = sql_literal(source)
    out: dict[str, str] = {}
    if track:
        out[f"Mean of cell {cell} per {track} label"] = (
            f"-- mean activation of cell {cell} for each label of the '{track}' track\n"
            "SELECT a.label, avg(s.value) AS mean_value, count(*) AS n\n"
            "FROM states s\n"
            f"JOIN annotations a ON a.pos = s.pos AND a.track = {sql_literal(track)}\n"
            f"WHERE s.source = {src} AND s.cell = {int(cell)}\n"
            "GROUP BY a.label\nORDER BY mean_value DESC")
    out[f"Top contexts of cell {cell}"] = (
        f"-- the 20 positions where cell {cell} is highest, with the 5 tokens before them\n"
        "SELECT s.pos, s.value, string_agg(t.token, ' ' ORDER BY t.pos) AS context\n"
        f"FROM (SELECT pos, value FROM states WHERE source = {src} AND cell = {int(cell)}\n"
        "      ORDER BY value DESC LIMIT 20) s\n"
        "JOIN tokens t ON t.pos BETWEEN s.pos - 5 AND s.pos\n"
        "GROUP BY s.pos, s.value\nORDER BY s.value DESC")
    out["The selection rule as SQL"] = (
        f"-- cells on (>= {threshold:g}) at every position of [{a}, {b}] and off in the padding\n"
        f"-- ({pad_left} step(s) before, {pad_right} after); same answer as the Select view\n"
        "SELECT cell\nFROM states\n"
        f"WHERE source = {src} AND pos BETWEEN {a - pad_left} AND {b + pad_right}\n"
        "  AND pos BETWEEN (SELECT first_pos FROM documents d JOIN tokens t USING (doc) "
        f"WHERE t.pos = {a})\n"
        f"              AND (SELECT last_pos FROM documents d JOIN tokens t USING (doc) WHERE t.pos = {a})\n"
        "GROUP BY cell\n"
        f"HAVING bool_and(CASE WHEN pos BETWEEN {a} AND {b} THEN value >= {threshold!r} "
        f"ELSE value < {threshold!r} END)\nORDER BY cell")
    if track:
        out[f"Current matches with their {track} labels"] = (
            f"-- the Match page's current results joined with the '{track}' annotations inside each match\n"
            "SELECT m.rank, m.start, m.length, a.label, count(*) AS positions\n"
            "FROM current_matches m\n"
            f"JOIN annotations a ON a.track = {sql_literal(track)}"
            " AND a.pos BETWEEN m.start AND m.start + m.length - 1\n"
            "GROUP BY ALL\nORDER BY m.rank, positions DESC")
    out["Saved hypotheses and their matches' text"] = (
        "-- every saved hypothesis (workspace) with the tokens of its matches\n"
        "SELECT h.name, m.rank, m.start, m.length, string_agg(t.token, ' ' ORDER BY t.pos) AS text\n"
        "FROM hypotheses h\nJOIN hypothesis_matches m ON m.hypothesis = h.name\n"
        "JOIN tokens t ON t.pos BETWEEN m.start AND m.start + m.length - 1\n"
        "GROUP BY ALL\nORDER BY h.name, m.rank")
    out["A match as one FROM (the lstmvis_match macro), joined with the annotations"] = (
        f"-- the top 10 matches of cell {int(cell)} at {threshold:g},"
        " computed in SQL by the macro stored in the project\n"
        "SELECT m.rank, m.start, m.length, m.jaccard, a.track, a.label\n"
        f"FROM lstmvis_match({src}, [{int(cell)}], {threshold!r}, lim := 10) AS m\n"
        "LEFT JOIN annotations a ON a.pos = m.start\n"
        "ORDER BY m.rank, a.track")
    out["Most frequent tokens"] = (
        "SELECT token, count(*) AS n\nFROM tokens\nGROUP BY token\nORDER BY n DESC\nLIMIT 30")
    return out
