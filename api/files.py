"""Answers that are files (ZIP, CSV, Excel, Zengin text): how the OpenAPI document declares them."""

from __future__ import annotations

from typing import Any


def file_responses(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route that answers 200 with a file (use with `response_class=Response`)."""
    return {
        200: {
            "description": description,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
