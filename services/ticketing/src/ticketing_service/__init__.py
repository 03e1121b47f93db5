"""The ticketing service of the city platform."""
