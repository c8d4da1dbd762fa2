"""In a real browser: the control labels of the page's main area that do not read in full, a
label or button text cut (its text wider than its box, the "Off righ", "«.." of a cramped row)
or wrapped onto a second line ("Off left" over two lines).  Read from the laid-out DOM."""

from __future__ import annotations

#: each label / button text in the main area: [text, lines it takes, text width, box width]
_JS = """() => {
  const out = [];
  const sel = '[data-testid=stMain] [data-testid=stWidgetLabel] p, ' +
              '[data-testid=stMain] [data-testid=stWidgetLabel] label, ' +
              '[data-testid=stMain] button[data-testid^=stBaseButton] p, ' +
              '[data-testid=stMain] [data-testid=stMetricLabel] p';
  for (const el of document.querySelectorAll(sel)) {
    const text = el.innerText.trim();
    if (!text || !el.getClientRects().length) continue;
    const r = document.createRange();
    r.selectNodeContents(el);
    const tops = new Set([...r.getClientRects()].filter(x => x.width > 0).map(x => Math.round(x.top)));
    out.push([text, tops.size, el.scrollWidth, el.clientWidth]);
  }
  return out;
}"""


def unreadable_labels(page) -> list[tuple[str, int, int, int]]:
    """(text, lines, text width, box width) of each label or button text that is cut or wrapped."""
    rows = [tuple(r) for r in page.evaluate(_JS)]
    return [r for r in rows if r[1] > 1 or r[2] > r[3] + 1]


def labels(page) -> list[str]:
    """Every label and button text of the main area (to check that the check saw the controls)."""
    return [r[0] for r in page.evaluate(_JS)]
