"""The shape of the code: dependencies point one way, and dispatcher's rooms keep their order.

`api -> dispatcher -> routing` and `simulations -> dispatcher -> routing`; `simulations` never
imports `api`; inside `dispatcher`, a room imports the flat core and the rooms below it in
`dispatcher.LAYERS`, and the core imports no room. Imports inside functions count too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import dispatcher
from dispatcher import LAYERS

ROOT = Path(__file__).resolve().parent.parent
CORE_LIMIT = 15  # modules at dispatcher's top level, __init__ included


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every import in a file, relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]  # `from pkg import module`
    return out


def _sources(top: str) -> list[Path]:
    return [p for p in sorted((ROOT / top).rglob("*.py")) if "migrations" not in p.parts]


def _room(module: str) -> str | None:
    """The room of a dispatcher module (None: the flat core)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else None


def violations() -> list[str]:
    rank = {room: i for i, room in enumerate(LAYERS)}
    out = []
    forbidden = {
        "routing": ("dispatcher", "api", "simulations"),
        "dispatcher": ("api", "simulations"),
        "simulations": ("api",),
    }
    for top, banned in forbidden.items():
        for path in _sources(top):
            where = path.relative_to(ROOT)
            for line, mod in _imports(path):
                if mod.split(".")[0] in banned:
                    out.append(f"{where}:{line} imports {mod} ({top} may not import {mod.split('.')[0]})")
    for path in _sources("dispatcher"):
        me = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        mine = _room(me)
        for line, mod in _imports(path):
            if not mod.startswith("dispatcher.") or mod == "dispatcher.LAYERS":
                continue
            theirs = _room(mod)
            if theirs is None or theirs == mine:
                continue
            if mine is None or rank[theirs] > rank[mine]:
                out.append(
                    f"{path.relative_to(ROOT)}:{line} imports {mod}: "
                    f"{mine or 'the core'} may not import {theirs} (see dispatcher.LAYERS)"
                )
    return sorted(set(out))


def test_no_import_against_the_layers() -> None:
    assert violations() == []


def test_the_check_sees_a_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is not vacuous: a room importing one above it, and simulations importing api,
    are both reported."""
    bad = ROOT / "dispatcher" / "rides" / "_layer_probe.py"
    sim = ROOT / "simulations" / "_layer_probe.py"
    try:
        bad.write_text("def f() -> None:\n    from dispatcher.shopping.orders import place_order\n")
        sim.write_text("from api.app import create_app\n")
        found = violations()
    finally:
        bad.unlink()
        sim.unlink()
    assert any("rides/_layer_probe.py:2" in v and "rides may not import shopping" in v for v in found)
    assert any("simulations/_layer_probe.py:1" in v for v in found)


def test_dispatcher_top_level_is_small_and_every_room_says_what_it_holds() -> None:
    top = sorted(p.name for p in (ROOT / "dispatcher").glob("*.py"))
    assert len(top) <= CORE_LIMIT, top
    rooms = sorted(p.parent.name for p in (ROOT / "dispatcher").glob("*/__init__.py"))
    assert rooms == sorted(LAYERS)
    for room in LAYERS:
        doc = ast.get_docstring(ast.parse((ROOT / "dispatcher" / room / "__init__.py").read_text()))
        assert doc and "May import:" in doc, (
            f"dispatcher/{room}/__init__.py must say what it holds and may import"
        )
    assert dispatcher.__doc__


def test_the_design_notes_state_the_same_order() -> None:
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    m = re.search(r"Layer order.*?```\n(.*?)\n```", text, re.S)
    assert m, "docs/design.md states the layer order in a fenced block after 'Layer order'"
    stated = [w.strip() for w in m.group(1).split("->")]
    assert stated == ["core", *LAYERS]
