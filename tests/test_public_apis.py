"""stockd stands on the frameworks' public APIs (issue 24): a ratchet over the source.

Read with `ast`, every module of the project (not the tests) is checked for four ways of
bending a framework (Django, DRF, asgiref, ServeStatic, psycopg, Celery and the like):
- assigning onto something imported from one (`MiddlewareMixin.__acall__ = ...`);
- reading an underscore name of something imported from one (`SyncToAsync._run`), or of
  `request` (`request._stream`, `request._request`);
- in a subclass of a framework class, using `self._name` that the class never sets itself
  (`self._view_middleware` in an ASGIHandler subclass);
- in a subclass of a framework class, redefining a method of its request cycle (DRF's
  `dispatch` or `initial`, a handler's `__call__` or `create_request`...): a copy of it, with
  changes, that would miss the framework's next fixes.

Issue 24 removed the last places that did (the hot path's patches); KNOWN lists any that
must stay, with why. The test fails on a new one, and on a listed one that is gone (the
ratchet only turns one way). It cannot see an undocumented attribute without an underscore
(asgiref's `SyncToAsync.func`): review catches those.
"""

import ast
from pathlib import Path

from django.conf import settings

FRAMEWORKS = (
    "django",
    "rest_framework",
    "asgiref",
    "whitenoise",
    "servestatic",
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

KNOWN: set[tuple[str, str]] = set()  # issue 24 removed the last ones


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


# The request cycle of the frameworks' handlers, views and middleware: a subclass that
# redefines one of these without calling the framework's own (`super()`) has copied it.
REQUEST_CYCLE = {
    "ASGIHandler": {"__call__", "handle", "create_request", "load_middleware", "send_response"},
    "WSGIHandler": {"__call__", "load_middleware", "get_response"},
    "APIView": {
        "dispatch",
        "initial",
        "initialize_request",
        "finalize_response",
        "handle_exception",
    },
    "MiddlewareMixin": {"__call__", "__acall__"},
}


def _calls_super(method: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether `method` calls the framework's own: `super().<its name>(...)`."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == method.name
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "super"
        for node in ast.walk(method)
    )


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
            cycle = set().union(*(REQUEST_CYCLE.get(base, set()) for base in bases))
            for method in node.body:
                if (
                    isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef)
                    and method.name in cycle
                    and not _calls_super(method)
                ):
                    found.add(f"redefines {method.name} of {', '.join(sorted(bases))}")
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
        "    async def __call__(self, scope, receive, send):\n"
        "        return None\n"
        "    def load_middleware(self, is_async=False):\n"
        "        super().load_middleware(is_async)\n"
    )
    assert _findings(sample) == {
        "assigns SyncToAsync.launch",
        "reads SyncToAsync._run",
        "uses request._stream",
        "uses self._middleware_chain of ASGIHandler",
        "redefines __call__ of ASGIHandler",
    }


def test_no_new_framework_internals_and_none_left_off_the_list():
    found = {
        (str(path.relative_to(PROJECT)), finding)
        for path in _modules()
        for finding in _findings(path)
    }
    assert sorted(found - KNOWN) == [], "framework internals used: stand on public APIs"
    assert sorted(KNOWN - found) == [], "gone from the code: take them off KNOWN"
