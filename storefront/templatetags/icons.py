"""`{% icon "truck" %}`: a vendored Lucide icon, inlined so it takes the text's colour."""

import functools
import re

from django import template
from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

ICONS_DIR = settings.BASE_DIR / "static" / "vendor" / "lucide-1.62.0"
_COMMENT = re.compile(r"<!--.*?-->\s*", re.S)


@functools.cache
def _svg(name: str) -> str:
    if not re.fullmatch(r"[a-z0-9-]+", name):
        raise template.TemplateSyntaxError(f"Bad icon name {name!r}.")
    svg = _COMMENT.sub("", (ICONS_DIR / f"{name}.svg").read_text()).strip()
    # Inline SVG in HTML needs no namespace declaration.
    return svg.replace(' xmlns="http://www.w3.org/2000/svg"', "").replace(
        '\n  xmlns="http://www.w3.org/2000/svg"', ""
    )


@register.simple_tag
def icon(name: str, size: int = 18) -> SafeString:
    """Inline the icon `name`, decorative (hidden from screen readers), `size` pixels wide."""
    svg = _svg(name).replace(
        "<svg", f'<svg aria-hidden="true" focusable="false" width="{size}" height="{size}"', 1
    )
    svg = re.sub(r'\n\s*width="24"\n\s*height="24"', "", svg, count=1)
    return mark_safe(svg)  # noqa: S308 - our own vendored files, no user input
