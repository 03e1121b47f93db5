"""Routes of this slice (filled in by the slice)."""

from fastapi import APIRouter

router = APIRouter()
