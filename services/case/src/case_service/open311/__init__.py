"""An Open311 GeoReport v2 view of the services marked as public reports (e.g. road damage)."""
