"""The risk register: risks to the plan, scored and re-rated, with their mitigations."""
