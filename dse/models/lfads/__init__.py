"""lfads."""
