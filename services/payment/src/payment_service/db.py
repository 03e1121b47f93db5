"""The payment service's metadata: its own tables plus the backbone tables."""

from city_shared.backbone import attach_backbone_tables
from city_shared.db import make_metadata

metadata = make_metadata()
attach_backbone_tables(metadata)
