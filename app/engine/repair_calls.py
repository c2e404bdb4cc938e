"""Plausibility of a repair: calls that cannot work with the arguments a repair gave them.

Where a bracket closes decides which call gets which arguments: ``f(int(a, b, c=1)`` can be
closed as ``f(int(a, b, c=1))`` or ``f(int(a), b, c=1)``. Both parse; only the second passes
``int`` arguments it accepts. A call is counted as a fault when its arguments cannot fit:

* a builtin the file does not redefine (``len``, ``int``, ``isinstance``, ...) or a method of
  a string literal (``"|".join``), with more or fewer positional arguments than it takes, or
  a keyword it does not have;
* a function or method defined once in the file, undecorated, called by its name
  (``f(...)``, ``self.f(...)``, ``cls.f(...)``), whose signature the arguments do not fit;
* any other function called by its bare name at least three times elsewhere in the file,
  never with as many positional arguments.

Calls with ``*args`` or ``**kwargs`` are never counted. Only calls that overlap the lines
the repairs touched are looked at.
"""

from __future__ import annotations

import ast

# name: (least positional, most positional, keywords it takes)
_BUILTINS: dict[str, tuple[int, int, frozenset[str]]] = {
    "abs": (1, 1, frozenset()),
    "all": (1, 1, frozenset()),
    "any": (1, 1, frozenset()),
    "bin": (1, 1, frozenset()),
    "bool": (0, 1, frozenset()),
    "callable": (1, 1, frozenset()),
    "chr": (1, 1, frozenset()),
    "delattr": (2, 2, frozenset()),
    "divmod": (2, 2, frozenset()),
    "enumerate": (1, 2, frozenset({"start"})),
    "filter": (2, 2, frozenset()),
    "float": (0, 1, frozenset()),
    "frozenset": (0, 1, frozenset()),
    "getattr": (2, 3, frozenset()),
    "hasattr": (2, 2, frozenset()),
    "hash": (1, 1, frozenset()),
    "hex": (1, 1, frozenset()),
    "id": (1, 1, frozenset()),
    "int": (0, 2, frozenset({"base"})),
    "isinstance": (2, 2, frozenset()),
    "issubclass": (2, 2, frozenset()),
    "iter": (1, 2, frozenset()),
    "len": (1, 1, frozenset()),
    "list": (0, 1, frozenset()),
    "next": (1, 2, frozenset()),
    "oct": (1, 1, frozenset()),
    "ord": (1, 1, frozenset()),
    "range": (1, 3, frozenset()),
    "repr": (1, 1, frozenset()),
    "reversed": (1, 1, frozenset()),
    "round": (1, 2, frozenset({"ndigits"})),
    "set": (0, 1, frozenset()),
    "setattr": (3, 3, frozenset()),
    "sorted": (1, 1, frozenset({"key", "reverse"})),
    "str": (0, 3, frozenset({"object", "encoding", "errors"})),
    "sum": (1, 2, frozenset({"start"})),
    "tuple": (0, 1, frozenset()),
}

# Methods of ``str``, looked at only on a string literal: ``", ".join(...)``.
_STR_METHODS: dict[str, tuple[int, int, frozenset[str]]] = {
    "capitalize": (0, 0, frozenset()),
    "count": (1, 3, frozenset()),
    "encode": (0, 2, frozenset({"encoding", "errors"})),
    "endswith": (1, 3, frozenset()),
    "find": (1, 3, frozenset()),
    "index": (1, 3, frozenset()),
    "join": (1, 1, frozenset()),
    "lower": (0, 0, frozenset()),
    "lstrip": (0, 1, frozenset()),
    "partition": (1, 1, frozenset()),
    "replace": (2, 3, frozenset({"count"})),
    "rsplit": (0, 2, frozenset({"sep", "maxsplit"})),
    "rstrip": (0, 1, frozenset()),
    "split": (0, 2, frozenset({"sep", "maxsplit"})),
    "splitlines": (0, 1, frozenset({"keepends"})),
    "startswith": (1, 3, frozenset()),
    "strip": (0, 1, frozenset()),
    "upper": (0, 0, frozenset()),
    "zfill": (1, 1, frozenset()),
}


class Signatures:
    """The file's own undecorated functions defined once, and the builtins it shadows."""

    def __init__(self, tree: ast.AST) -> None:
        seen: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        self.shadowed: set[str] = set()
        # name: (line, positional arguments) of every plain call `name(...)`
        self.usage: dict[str, list[tuple[int, int]]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if not any(isinstance(arg, ast.Starred) for arg in node.args):
                    self.usage.setdefault(node.func.id, []).append((node.lineno, len(node.args)))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                seen.setdefault(node.name, []).append(node)
                self.shadowed.add(node.name)
            elif isinstance(node, ast.ClassDef):
                self.shadowed.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                self.shadowed.add(node.id)
            elif isinstance(node, ast.alias):
                self.shadowed.add((node.asname or node.name).split(".")[0])
            elif isinstance(node, ast.arg):
                self.shadowed.add(node.arg)
        self.functions = {
            name: defs[0]
            for name, defs in seen.items()
            if len(defs) == 1 and not defs[0].decorator_list
        }


def call_faults(tree: ast.AST, lo: int, hi: int, signatures: Signatures) -> int:
    """How many calls overlapping lines ``lo``..``hi`` get arguments they cannot take."""
    faults = 0
    stack = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            start = getattr(child, "lineno", None)
            if start is not None:
                end = getattr(child, "end_lineno", None) or start
                if start > hi or end < lo:
                    continue
            stack.append(child)
        if isinstance(node, ast.Call) and not _fits(node, signatures):
            faults += 1
        elif isinstance(node, ast.Call) and _more_than_usual(node, signatures, lo, hi):
            faults += 1
    return faults


def _fits(call: ast.Call, signatures: Signatures) -> bool:
    if any(isinstance(arg, ast.Starred) for arg in call.args):
        return True
    if any(keyword.arg is None for keyword in call.keywords):
        return True
    positional = len(call.args)
    names = {keyword.arg for keyword in call.keywords if keyword.arg}
    func = call.func
    if isinstance(func, ast.Name):
        definition = signatures.functions.get(func.id)
        if definition is not None:
            return _fits_def(definition, positional, names, method=False)
        if func.id in _BUILTINS and func.id not in signatures.shadowed:
            return _fits_table(_BUILTINS[func.id], positional, names)
        return True
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
            if func.attr in _STR_METHODS:
                return _fits_table(_STR_METHODS[func.attr], positional, names)
            return True
        owner = func.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            definition = signatures.functions.get(func.attr)
            if definition is not None:
                return _fits_def(definition, positional, names, method=True)
    return True


def _more_than_usual(call: ast.Call, signatures: Signatures, lo: int, hi: int) -> bool:
    """A function of unknown signature called at least three times elsewhere in the file,
    never with as many positional arguments as here (``tr("a")`` everywhere, then
    ``tr("b", "c")``)."""
    if not isinstance(call.func, ast.Name) or call.func.id in signatures.functions:
        return False
    if call.func.id in _BUILTINS or any(isinstance(arg, ast.Starred) for arg in call.args):
        return False
    others = [n for line, n in signatures.usage.get(call.func.id, ()) if not lo <= line <= hi]
    return len(others) >= 3 and len(call.args) > max(others)


def _fits_table(entry: tuple[int, int, frozenset[str]], positional: int, names: set[str]) -> bool:
    least, most, keywords = entry
    return least <= positional + len(names) and positional <= most and names <= keywords


def _fits_def(
    definition: ast.FunctionDef | ast.AsyncFunctionDef,
    positional: int,
    names: set[str],
    method: bool,
) -> bool:
    args = definition.args
    params = [a.arg for a in (*args.posonlyargs, *args.args)]
    if method:
        if not params:
            return True  # a method without `self`: nothing to say
        params = params[1:]
    posonly = len(args.posonlyargs) - int(method and bool(args.posonlyargs))
    if positional > len(params) and args.vararg is None:
        return False
    filled = set(params[:positional])
    kwonly = {a.arg for a in args.kwonlyargs}
    for name in names:
        if name in filled or (name in params[: max(posonly, 0)]):
            if args.kwarg is None:
                return False
        elif name not in params and name not in kwonly and args.kwarg is None:
            return False
    required = params[: len(params) - len(args.defaults)] if args.defaults else params
    if len(args.defaults) > len(params):
        required = []
    for name in required:
        if name not in filled and name not in names:
            return False
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        if default is None and arg.arg not in names:
            return False
    return True
