"""The case service's metadata (its own tables plus the backbone tables) and the declarative
base every slice maps its tables on."""

from sqlalchemy.orm import DeclarativeBase

from city_shared.backbone import attach_backbone_tables
from city_shared.db import make_metadata

metadata = make_metadata()
attach_backbone_tables(metadata)


class Base(DeclarativeBase):
    """Declarative base bound to the case service's metadata."""

    metadata = metadata
