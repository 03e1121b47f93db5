"""The notification service of the city platform."""
