"""axe-core in a real page: the serious and critical accessibility violations it finds.

The vendored axe-core (tests/e2e/vendor/, from the npm registry) is run through Playwright's
page.evaluate, which goes over the DevTools protocol: the site's Content Security Policy
(no inline script) stays in force for the page and does not apply to the audit. axe-core runs
its default rules (WCAG 2.0-2.2 A and AA, and its best practices); a violation of impact
"serious" or "critical" fails, a "moderate" or "minor" one does not.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from playwright.sync_api import Page

AXE_CORE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
SHOWN_TARGETS = 3

RUN_AXE = """async (impacts) => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((violation) => impacts.includes(violation.impact))
    .map((violation) => ({
      rule: violation.id,
      impact: violation.impact,
      help: violation.help,
      targets: violation.nodes.map((node) => node.target.join(" ")),
      why: [...violation.nodes[0].any, ...violation.nodes[0].all][0]?.message || "",
    }));
}"""


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: list[str]
    why: str  # what axe-core says of the first element, e.g. the colours and their ratio

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:SHOWN_TARGETS])
        more = len(self.targets) - SHOWN_TARGETS
        suffix = f" (+{more} more)" if more > 0 else ""
        why = f" [{self.why}]" if self.why else ""
        return f"{self.rule} ({self.impact}): {self.help}: {shown}{suffix}{why}"


@cache
def _axe_source() -> str:
    return AXE_CORE.read_text(encoding="utf-8")


def serious_violations(page: Page) -> list[Violation]:
    """Run axe-core on the page as it is now; return its serious and critical violations."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found = page.evaluate(RUN_AXE, list(BLOCKING_IMPACTS))
    return [Violation(**violation) for violation in found]


class AxeAudit:
    """Audit the states a test walks through at each width; report every finding at the end."""

    def __init__(self, page: Page, widths: dict[str, dict[str, int]]) -> None:
        self.page = page
        self.widths = widths
        self.findings: list[str] = []

    def check(self, state: str) -> None:
        """Run axe-core on the page at every width, noting what it finds under `state`."""
        for width, size in self.widths.items():
            self.page.set_viewport_size(size)
            for violation in serious_violations(self.page):
                self.findings.append(f"{state} [{width}] {violation}")

    def assert_clean(self) -> None:
        """Fail with one line per violation found in any state at any width."""
        report = "\n".join(self.findings)
        assert not self.findings, f"{len(self.findings)} serious or critical:\n{report}"
