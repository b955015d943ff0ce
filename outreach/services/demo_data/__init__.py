"""Synthetic demo data: fictional people in the real shapes of the seed programs' practice."""
