"""stockd stands on the frameworks' public APIs (issue 24): a ratchet over the source.

Read with `ast`, every module of the project (not the tests) is checked for three ways of
bending a framework (Django, DRF, asgiref, WhiteNoise, psycopg, Celery and the like):
- assigning onto something imported from one (`MiddlewareMixin.__acall__ = ...`);
- reading an underscore name of something imported from one (`SyncToAsync._run`), or of
  `request` (`request._stream`, `request._request`);
- in a subclass of a framework class, using `self._name` that the class never sets itself
  (`self._view_middleware` in an ASGIHandler subclass).

The places that still do are listed in KNOWN with why; issue 24 removes them. The test fails
on a new one, and on a listed one that is gone (take it off the list: the ratchet only turns
one way). It cannot see a copied method (DRF's dispatch in core/serving/asyncviews.py) or an
undocumented attribute without an underscore (asgiref's `SyncToAsync.func`, WhiteNoise's
`files` in core/serving/middleware.py): issue 24 names those, and review catches the next ones.
"""

import ast
from pathlib import Path

from django.conf import settings

FRAMEWORKS = (
    "django",
    "rest_framework",
    "asgiref",
    "whitenoise",
    "psycopg",
    "psycopg_pool",
    "celery",
    "drf_spectacular",
    "django_redis",
    "uvicorn",
    "gunicorn",
)
# Underscore names the frameworks document as public.
DOCUMENTED = {
    "_meta",  # Django's Model._meta API
    "_state",  # Model._state.db, as Django's multiple-databases docs use it in routers
}
PROJECT = Path(settings.BASE_DIR)
SKIPPED = {".venv", "tests", "var", "staticfiles", "static", "migrations", "node_modules"}

KNOWN = {
    # The hold hot path's framework patches, which issue 24 replaces with public API.
    ("core/serving/asyncviews.py", "assigns MiddlewareMixin.__acall__"),
    ("stockd/asgi.py", "uses self._view_middleware of ASGIHandler"),
}


def _modules() -> list[Path]:
    return sorted(
        path
        for path in PROJECT.rglob("*.py")
        if not SKIPPED & set(path.relative_to(PROJECT).parts[:-1])
    )


def _framework_names(tree: ast.Module) -> set[str]:
    """The names a module imports from a framework."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in FRAMEWORKS:
                names |= {alias.asname or alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FRAMEWORKS:
                    names.add(alias.asname or alias.name.split(".")[0])
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__") and name not in DOCUMENTED


def _own_attributes(cls: ast.ClassDef) -> set[str]:
    """The names a class defines itself: its methods and class attributes, and the
    `self.<name>` its __init__ sets (one set elsewhere may be the framework's own)."""
    own = set()
    for node in cls.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            own.add(node.name)
        for target in getattr(node, "targets", [getattr(node, "target", None)]):
            if isinstance(target, ast.Name):
                own.add(target.id)
        if isinstance(node, ast.FunctionDef) and node.name == "__init__":
            own |= {
                inner.attr
                for inner in ast.walk(node)
                if isinstance(inner, ast.Attribute)
                and isinstance(inner.ctx, ast.Store)
                and isinstance(inner.value, ast.Name)
                and inner.value.id == "self"
            }
    return own


def _findings(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    framework = _framework_names(tree)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _root(node.value) in framework:
            if isinstance(node.ctx, ast.Store):
                found.add(f"assigns {_root(node.value)}.{node.attr}")
            elif _private(node.attr):
                found.add(f"reads {_root(node.value)}.{node.attr}")
        if (
            isinstance(node, ast.Attribute)
            and _private(node.attr)
            and isinstance(node.value, ast.Name)
            and node.value.id == "request"
        ):
            found.add(f"uses request.{node.attr}")
        if isinstance(node, ast.ClassDef):
            bases = {_root(base) for base in node.bases} & framework
            own = _own_attributes(node)
            for inner in ast.walk(node):
                if (
                    bases
                    and isinstance(inner, ast.Attribute)
                    and isinstance(inner.value, ast.Name)
                    and inner.value.id == "self"
                    and _private(inner.attr)
                    and inner.attr not in own
                ):
                    found.add(f"uses self.{inner.attr} of {', '.join(sorted(bases))}")
    return found


def test_the_check_sees_each_kind_of_bending(tmp_path):
    """Control: each pattern the ratchet looks for is found in a small module."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from asgiref.sync import SyncToAsync\n"
        "from django.core.handlers.asgi import ASGIHandler\n"
        "SyncToAsync.launch = None\n"
        "run = SyncToAsync._run\n"
        "def view(request):\n"
        "    return request._stream\n"
        "class Handler(ASGIHandler):\n"
        "    def __init__(self):\n"
        "        self._mine = 1\n"
        "    def load(self):\n"
        "        return self._mine, self._own(), self._middleware_chain\n"
        "    def _own(self):\n"
        "        return None\n"
    )
    assert _findings(sample) == {
        "assigns SyncToAsync.launch",
        "reads SyncToAsync._run",
        "uses request._stream",
        "uses self._middleware_chain of ASGIHandler",
    }


def test_no_new_framework_internals_and_none_left_off_the_list():
    found = {
        (str(path.relative_to(PROJECT)), finding)
        for path in _modules()
        for finding in _findings(path)
    }
    assert sorted(found - KNOWN) == [], "framework internals used: stand on public APIs"
    assert sorted(KNOWN - found) == [], "gone from the code: take them off KNOWN"
