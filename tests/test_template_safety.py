"""Nothing turns off escaping outside a short list of reviewed places, each with its reason.

Django escapes every variable a template shows. `|safe`, `|safeseq`, `{% autoescape off %}`,
`mark_safe()` and `SafeString()` switch that off: on text a shopper or a staff member typed,
that is stored XSS. So each use has to be on ALLOWED below with the reason it is safe, and an
entry whose use has gone is taken off. `format_html` escapes its arguments, so it must get
them as arguments, not already formatted into its first one.
"""

import ast
import os
import re
from collections import Counter
from pathlib import Path

from django.conf import settings
from django.template import engines
from django.template.utils import get_app_template_dirs

BASE_DIR = Path(settings.BASE_DIR)
# Not stockd's code: other people's packages, tests (which build hostile markup on purpose),
# generated migrations, caches.
SKIPPED_DIRS = {".venv", "venv", ".git", "node_modules", "__pycache__", "tests", "migrations"}

# (path from the project root, the construct as written) -> why it is safe.
ALLOWED = {
    (
        "templates/registration/password_reset_email.html",
        "{% autoescape off %}",
    ): "The password-reset email is plain text (PasswordResetView sends no HTML part): "
    "escaping would put &amp; and &#x27; into the address and the link. Django's own "
    "template for this email does the same.",
    (
        "storefront/templatetags/icons.py",
        "mark_safe(svg)",
    ): "{% icon %} inlines one of our vendored Lucide SVG files; the name must match "
    "[a-z0-9-]+ and only the int `size` is written into it. No request data reaches it.",
}

_SAFE_FILTER = r"\|\s*safe(?:seq)?\b"
# Each use as written, the whole variable or tag around it, so that ALLOWED names one use.
_TEMPLATE_UNSAFE = re.compile(
    rf"\{{\{{[^{{}}]*?{_SAFE_FILTER}[^{{}}]*?\}}\}}"  # {{ value|safe }}, {{ values|safeseq }}
    rf"|\{{%[^%]*?{_SAFE_FILTER}[^%]*?%\}}"  # {% filter upper|safe %}, {% with a=b|safe %}
    r"|\{%\s*filter\s+safe(?:seq)?\b[^%]*%\}"  # {% filter safe %}
    r"|\{%\s*autoescape\s+off\s*%\}"
    rf"|{_SAFE_FILTER}"  # anywhere else
)
_SAFE_MAKERS = {"mark_safe", "SafeString", "SafeText"}


def _skipped(path: Path) -> bool:
    return bool(SKIPPED_DIRS.intersection(path.relative_to(BASE_DIR).parts))


def _template_dirs() -> list[Path]:
    """The project's template directories: DIRS and each of stockd's own apps' templates/."""
    dirs = [Path(d) for d in engines["django"].engine.dirs]
    dirs += [Path(d) for d in get_app_template_dirs("templates")]
    return [d for d in dirs if d.is_relative_to(BASE_DIR) and not _skipped(d)]


def _template_uses() -> list[tuple[str, str, int]]:
    uses = []
    for directory in _template_dirs():
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue  # an image, not a template
            for match in _TEMPLATE_UNSAFE.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                uses.append((str(path.relative_to(BASE_DIR)), match.group(), line))
    return uses


def _python_files() -> list[Path]:
    files = []
    for root, dirs, names in os.walk(BASE_DIR):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]  # never walk into .venv
        files += [Path(root, name) for name in names if name.endswith(".py")]
    return sorted(files)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _python_uses() -> list[tuple[str, str, int]]:
    """Calls of mark_safe, SafeString and SafeText, under their own or an imported alias."""
    uses = []
    for path in _python_files():
        source = path.read_text()
        tree = ast.parse(source, filename=str(path))
        makers = set(_SAFE_MAKERS)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                makers |= {a.asname for a in node.names if a.asname and a.name in _SAFE_MAKERS}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called_name(node) in makers:
                segment = ast.get_source_segment(source, node)
                uses.append((str(path.relative_to(BASE_DIR)), segment, node.lineno))
    return uses


def test_escaping_is_turned_off_only_where_the_allowlist_says_why():
    uses = _template_uses() + _python_uses()
    found = Counter((path, construct) for path, construct, _ in uses)

    unexplained = [
        f"{path}:{line}: {construct}"
        for path, construct, line in uses
        if (path, construct) not in ALLOWED or found[path, construct] > 1
    ]
    assert not unexplained, (
        "Escaping turned off without a reason in tests/test_template_safety.py ALLOWED "
        "(escape the value instead, or add the use with why no untrusted text reaches it):\n"
        + "\n".join(unexplained)
    )
    gone = sorted(set(ALLOWED) - set(found))
    assert not gone, f"ALLOWED names uses that are gone; take them off: {gone}"


def test_format_html_gets_the_values_it_escapes_as_arguments():
    """format_html(f"...{value}...") or format_html("..." % value) escapes nothing."""
    formatted_first = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _called_name(node) == "format_html"):
                continue
            first = node.args[0] if node.args else None
            already_formatted = (
                isinstance(first, ast.JoinedStr)
                or (isinstance(first, ast.BinOp) and isinstance(first.op, ast.Mod))
                or (isinstance(first, ast.Call) and _called_name(first) == "format")
                or len(node.args) + len(node.keywords) < 2
            )
            if already_formatted:
                formatted_first.append(f"{path.relative_to(BASE_DIR)}:{node.lineno}")
    assert not formatted_first, formatted_first
