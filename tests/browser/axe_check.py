"""axe-core in the browser tests (issue 22 item 9): every page of every role, at 1366 and
390 px wide, with no violation of any impact.

axe-core is the npm package, pinned in tests/browser/axe/package-lock.json and installed there
by `make test` (`npm ci`), so the tests need no network once it is installed. It is added to
each page as an init script, which the page's Content-Security-Policy does not govern: the
pages are checked exactly as served, their CSP included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"

RUN = """async () => {
  const found = await axe.run(document, { resultTypes: ["violations"] });
  return found.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
  }));
}"""


def load_axe(page: Any) -> None:
    """Have axe-core in every document this page opens from now on."""
    assert AXE.exists(), (
        f"axe-core is not installed at {AXE}: `make test` installs it "
        "(or run `npm ci` in tests/browser/axe)"
    )
    page.add_init_script(path=str(AXE))


def violations(page: Any) -> list[dict[str, Any]]:
    """Every axe-core violation on the page as it stands, whatever its impact."""
    found: list[dict[str, Any]] = page.evaluate(RUN)
    return found


# WCAG 2.2 2.5.8 (target size, minimum): 24 by 24 CSS px. A link inside a sentence is the
# rule's own "inline" exception; every other control must be that large itself (issue 22
# item 9), not merely spaced out, so a thumb on a phone finds it.
SMALL_TARGETS = """() => {
  const targets = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, summary");
  const small = [];
  for (const el of targets) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 && box.height === 0) continue;  // not shown
    if (el.tagName === "A") {
      const block = el.closest("p, li, dd, td, .hint, span, h2, h3");
      const own = el.textContent.trim().length;
      if (block && block.textContent.trim().length > own + 3 && !el.closest("nav")) continue;
    }
    if (box.width < 24 || box.height < 24) {
      const name = (el.getAttribute("aria-label") || el.textContent || el.name || el.type || "")
        .trim().slice(0, 30);
      const size = `${Math.round(box.width)}x${Math.round(box.height)}`;
      small.push(`${el.tagName.toLowerCase()} "${name}" ${size}`);
    }
  }
  return small;
}"""


def small_targets(page: Any) -> list[str]:
    """Controls on the page smaller than 24 by 24 CSS px, outside the inline exception."""
    found: list[str] = page.evaluate(SMALL_TARGETS)
    return found
