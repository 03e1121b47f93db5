"""HTTP routes of the orders slice (filled in by its use cases)."""

from fastapi import APIRouter

router = APIRouter()
