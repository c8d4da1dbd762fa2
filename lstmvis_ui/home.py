"""The start page's project cards: each drawn on its own, so a file that cannot be read shows
"cannot be read" on its card and never breaks the page; stored strings shown as plain text."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from . import public
from .cached import info
from .constants import PAGES
from .view_state import open_view


def quietly(fn, *args):
    """``fn(*args)``, or None if it fails in any way (for optional parts of the page)."""
    try:
        return fn(*args)
    except Exception:  # noqa: BLE001 (a damaged or crafted file must not break the start page)
        return None


def project_card(name: str, path: str) -> None:
    """One project's card: name, file, sizes, sources, tracks, and an Open button."""
    try:
        inf = info(path)
    except Exception as e:  # noqa: BLE001 (as above; the reason is shown on the card)
        st.subheader(public.plain(name))
        st.error(f"This project cannot be read: {public.message(e)}", icon=":material/broken_image:")
        return
    st.subheader(public.plain(inf["name"] or name))
    st.caption(public.plain(Path(path).name if public.is_public() else path))
    if inf["description"]:
        st.markdown(public.described(inf["description"]))
    c1, c2, c3 = st.columns(3)
    c1.metric("Tokens", f"{inf['tokens']:,}")
    c2.metric("Documents", inf["documents"])
    c3.metric("Sources", len(inf["sources"]))
    st.markdown("**Sources**  \n" + "  \n".join(
        f"- {public.plain(x['source'])}: layer {x['layer']} {public.plain(x['kind'])} "
        f"({inf['tokens']:,} × {x['n_cells']})" + (" **unsigned**" if inf["unsigned"][x["source"]] else "")
        for x in inf["sources"]))
    st.markdown("**Tracks**: " + (", ".join(f"{public.plain(t['track'])} ({public.plain(t['kind'])})"
                                            for t in inf["tracks"]) or "---"))
    names = [x["source"] for x in inf["sources"]]
    suggested = inf["meta"].get("suggest_source")  # opened on it, Open shows the suggested hypothesis
    src = st.selectbox("Source", names, index=names.index(suggested) if suggested in names else 0,
                       key=f"w_src_{name}", help="the project's suggested hypothesis is on the source chosen first")
    if st.button("Open in Select →", key=f"open_{name}", type="primary"):
        open_view(name, src, inf)
        st.switch_page(PAGES["select"])
