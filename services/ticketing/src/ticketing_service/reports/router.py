"""HTTP routes of the reports slice (filled in by its use cases)."""

from fastapi import APIRouter

router = APIRouter()
