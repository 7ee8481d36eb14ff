"""Stacks: each composes dbpatterns constructs into one deployable unit. No logic of their own."""
