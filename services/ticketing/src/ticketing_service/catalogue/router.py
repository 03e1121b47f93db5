"""HTTP routes of the catalogue slice (filled in by its use cases)."""

from fastapi import APIRouter

router = APIRouter()
