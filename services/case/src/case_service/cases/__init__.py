"""Cases: submitted applications, their numbers, fees and payment, and their history."""
