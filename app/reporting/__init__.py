"""The monthly reporting cycle: reporting periods, returns from action owners, reminders and escalation."""
