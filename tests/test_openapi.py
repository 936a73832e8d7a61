"""The OpenAPI document declares every success body: each JSON answer has a typed schema (the
response models of api/schemas), files keep their own media types, and nothing is an open object
unless it says what it holds."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ValidationError
from sqlalchemy import create_engine

import api.schemas
from api.app import create_app
from api.routes.stats import XLSX
from api.schemas.base import ApiModel
from api.schemas.opendata import Entity
from api.schemas.service import Health
from dispatcher.clock import SimClock
from dispatcher.context import Dispatcher
from tests.conftest import DAY_START

JSON = "application/json"
# in the OpenAPI document (pages and the family's acknowledge link are not in it);
# issue 20: +4, issue 21: +1 (bulk positions)
OPERATIONS = 135
JSON_OPERATIONS = 120  # of them answering application/json
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
# Answers that are files or JSON-LD, not application/json: their declared media types.
OTHER_MEDIA = {
    ("get", "/api/v1/billing/{month}/collection.csv"): "text/csv",
    ("get", "/api/v1/billing/{month}/zengin"): "application/octet-stream",
    ("get", "/api/v1/residents/export.csv"): "text/csv",
    ("get", "/api/v1/stats/dashboard.xlsx"): XLSX,
    ("get", "/api/v1/stats/tables/{name}.csv"): "text/csv",
    ("get", "/opendata/gtfs.zip"): "application/zip",
    ("get", "/opendata/ridership.csv"): "text/csv",
    ("get", "/opendata/ngsi-ld/v1/entities"): "application/ld+json",
    ("get", "/opendata/ngsi-ld/v1/entities/{entity_id}"): "application/ld+json",
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    # The document needs no database: an app whose engine is never opened builds it.
    return create_app(
        ctx=Dispatcher(engine=create_engine("sqlite://"), clock=SimClock(DAY_START)), scheduler=False
    )


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    with TestClient(app) as client:
        r = client.get("/openapi.json")
    assert r.status_code == 200, r.text
    return r.json()


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def untyped(spec: dict[str, Any], schema: dict[str, Any]) -> str | None:
    """Why a success body's schema says nothing about its content, else None: empty, a bare object
    (no properties, no schema for its values), an object open to anything at the top level; for a
    list, the same of its items; for a choice, of each choice."""
    schema = _resolve(spec, schema)
    if not set(schema) - {"title", "description", "default", "examples"}:
        return "an empty schema"
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return next((w for s in schema[key] if (w := untyped(spec, s))), None)
    if schema.get("type") == "array":
        why = untyped(spec, schema.get("items", {}))
        return f"items: {why}" if why else None
    if schema.get("type") == "object":
        extra = schema.get("additionalProperties")
        if extra is True:
            return "an object open to any member (additionalProperties: true)"
        if not schema.get("properties") and not isinstance(extra, dict):
            return "a bare object"
    return None


def open_members(spec: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]) -> list[str]:
    """Members anywhere in a body that may hold any JSON yet do not say what they hold."""
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return []
        seen.add(schema["$ref"])
        return open_members(spec, _resolve(spec, schema), where, seen)
    out = []
    for name, prop in schema.get("properties", {}).items():
        described = "description" in prop or "description" in _resolve(spec, prop)
        if not described and untyped(spec, prop) is not None:
            out.append(f"{where}.{name}")
        out += open_members(spec, prop, f"{where}.{name}", seen)
    for key in ("oneOf", "anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            out += open_members(spec, sub, f"{where}<{i}>", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            out += open_members(spec, schema[key], f"{where}[]", seen)
    return out


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def test_every_json_answer_declares_its_schema(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    problems: list[str] = []
    json_ops = files = empty = 0
    for method, path, op in ops:
        name = f"{method.upper()} {path}"
        success = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        if not success:
            problems.append(f"{name}: no success answer declared")
        for code, response in success.items():
            content = response.get("content", {})
            if not content:
                empty += 1
                if code != "204":
                    problems.append(f"{name} {code}: no content declared")
            elif (method, path) in OTHER_MEDIA:
                files += 1
                media = OTHER_MEDIA[(method, path)]
                if list(content) != [media]:
                    problems.append(f"{name} {code}: {list(content)}, not {media}")
                elif why := untyped(spec, content[media].get("schema", {})):
                    problems.append(f"{name} {code}: {why}")
            else:
                json_ops += 1
                if list(content) != [JSON]:
                    problems.append(f"{name} {code}: {list(content)}, not {JSON}")
                elif why := untyped(spec, content[JSON].get("schema", {})):
                    problems.append(f"{name} {code}: {why}")
    print(f"{len(ops)} operations: {json_ops} JSON answers, {files} files or JSON-LD, {empty} without body")
    assert not problems, f"{len(problems)} success answers without a typed schema:\n" + "\n".join(problems)
    # Every operation was looked at; a new one changes these counts (check its schema, then them).
    assert (len(ops), json_ops, files, empty) == (OPERATIONS, JSON_OPERATIONS, len(OTHER_MEDIA), 6)


def test_open_members_say_what_they_hold(spec: dict[str, Any]) -> None:
    """A member typed as any JSON (a QGroundControl mission, an NGSI-LD property value) is allowed
    only with a description of what it is."""
    found = []
    for method, path, op in operations(spec):
        for response in op["responses"].values():
            for body in response.get("content", {}).values():
                if "schema" in body:
                    found += open_members(spec, body["schema"], f"{method.upper()} {path}", set())
    assert not found, "open members without a description:\n" + "\n".join(sorted(set(found)))


def test_untyped_recognises_what_it_must_refuse() -> None:
    spec: dict[str, Any] = {
        "components": {"schemas": {"Open": {"type": "object", "additionalProperties": True}}}
    }
    assert untyped(spec, {}) == "an empty schema"
    assert untyped(spec, {"title": "Value", "default": None}) == "an empty schema"
    assert untyped(spec, {"type": "object"}) == "a bare object"
    assert untyped(spec, {"$ref": "#/components/schemas/Open"}) is not None
    assert untyped(spec, {"type": "array", "items": {"type": "object", "additionalProperties": True}})
    assert untyped(spec, {"type": "object", "additionalProperties": {"type": "integer"}}) is None
    assert untyped(spec, {"type": "object", "properties": {"a": {"type": "string"}}}) is None


def test_every_success_body_model_refuses_undeclared_keys() -> None:
    """A key the domain returns that a model does not declare fails the answer (a 500 in the tests)
    rather than vanishing; only an NGSI-LD entity is open (its attributes are the standard's)."""
    models = [
        obj
        for info in pkgutil.iter_modules(api.schemas.__path__)
        for obj in vars(importlib.import_module(f"api.schemas.{info.name}")).values()
        if isinstance(obj, type) and issubclass(obj, BaseModel) and obj.__module__.startswith("api.schemas.")
    ]
    assert len(models) > 100
    for model in models:
        assert issubclass(model, ApiModel), model
        extra = model.model_config.get("extra")
        assert extra == ("allow" if model is Entity else "forbid"), model
        assert model.model_config.get("strict"), model
    with pytest.raises(ValidationError, match="extra_forbidden|Extra inputs"):
        Health.model_validate({"status": "ok", "now": "2026-11-24T08:00:00+09:00", "version": "1"})
