"""Governance: the bodies that hold the plan to account, their meetings, decisions and meeting actions, and the
external reviews of the plan (DfE/NHS England review meetings, stocktakes, revisits, monitoring visits)."""
