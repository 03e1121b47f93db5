"""The case service of the city platform."""
