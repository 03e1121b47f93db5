"""HTTP routes of the tickets slice (filled in by its use cases)."""

from fastapi import APIRouter

router = APIRouter()
