"""Gestures on the Select chart in a real browser (Playwright page): where the words, the
threshold handle and the padding row are on screen, read from the drawn SVG, and the drags
that brush a range, move the threshold or set the padding (lstmvis_db.views.select_chart's
layout: plot PLOT_H px, then the words, then the signature row)."""

from __future__ import annotations

from dataclasses import dataclass

from lstmvis_db.views import select_chart as sc

CHART = '[data-testid="stVegaLiteChart"]'


@dataclass(frozen=True)
class Geometry:
    """Screen geometry of the (first) Select chart: word centres, the words' row, one slot's width."""

    xs: list[float]
    labels: list[str]
    y: float
    slot: float
    chart_right: float

    @property
    def plot_left(self) -> float:
        return self.xs[0] - self.slot / 2

    @property
    def plot_top(self) -> float:
        return self.y - sc.WORD_H / 2 - sc.GAP - sc.PLOT_H

    def y_of(self, shown: float, domain: tuple[float, float] = (-1.0, 1.0)) -> float:
        """Screen y of a displayed value on the plot."""
        return self.plot_top + (1 - (shown - domain[0]) / (domain[1] - domain[0])) * sc.PLOT_H


def geometry(page, nth: int = 0) -> Geometry:
    """Read the words' row (the text row with most labels) from the chart's SVG."""
    g = page.evaluate("""(nth) => {
      const box = document.querySelectorAll('[data-testid=stVegaLiteChart]')[nth];
      const svg = box.querySelector('svg.marks');
      // group the labels by the layer they belong to: the words are the first layer of labels
      const ts = [...svg.querySelectorAll('g.mark-text.role-mark text')].map(t => {const r = t.getBoundingClientRect();
        return [t.parentNode.getAttribute('class'), r.x + r.width / 2, t.textContent, r.y + r.height / 2]});
      const rows = {}; ts.forEach(([k, x, s, y]) => {(rows[k] = rows[k] || []).push([x, s, y])});
      const best = Object.keys(rows).find(k => rows[k].length > 1);
      const row = rows[best].sort((a, b) => a[0] - b[0]);
      const ys = row.map(a => a[2]).sort((a, b) => a - b);
      return {y: ys[Math.floor(ys.length / 2)], xs: row.map(a => a[0]), labels: row.map(a => a[1]),
              right: box.getBoundingClientRect().right};
    }""", nth)
    xs = g["xs"]
    return Geometry(xs, g["labels"], g["y"], (xs[-1] - xs[0]) / max(len(xs) - 1, 1), g["right"])


def drag(page, x0: float, y0: float, x1: float, y1: float, steps: int = 8) -> None:
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=steps)
    page.mouse.up()


def brush(page, first: int, last: int) -> None:
    """Drag across window slots first..last on the words."""
    g = geometry(page)
    drag(page, g.xs[first] - g.slot * 0.3, g.y, g.xs[last] + g.slot * 0.3, g.y)


def drag_threshold(page, from_shown: float, to_shown: float) -> None:
    """Drag the threshold handle on the y-axis strip (displayed units, domain [-1, 1])."""
    g = geometry(page)
    x = g.plot_left - 7
    drag(page, x, g.y_of(from_shown), x, g.y_of(to_shown))


def press_padding(page, slot: int) -> None:
    """Press on the signature row under window slot ``slot`` (sets that side's off-padding)."""
    g = geometry(page)
    y = g.y + sc.WORD_H / 2 + 2 + sc.SIG_H / 2
    drag(page, g.xs[slot] + 1, y, g.xs[slot], y, steps=2)
