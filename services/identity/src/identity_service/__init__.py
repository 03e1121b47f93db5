"""The identity service of the city platform."""
