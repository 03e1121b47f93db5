"""The worklists API (routes added by its slice)."""

from __future__ import annotations

from fastapi import APIRouter

__all__ = ["router"]

router = APIRouter(tags=["worklists"])
