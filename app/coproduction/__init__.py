"""The co-production and engagement log: who shaped the plan, how far, what they said and what was done about it."""
