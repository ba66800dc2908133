"""Impact per concern: what has changed for children, young people and families, as the partnership judges it."""
