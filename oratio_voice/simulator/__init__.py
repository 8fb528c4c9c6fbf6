"""Simulators that stand in for a carrier, so the product can be tried and tested offline."""
