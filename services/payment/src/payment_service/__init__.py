"""The payment service of the city platform."""
