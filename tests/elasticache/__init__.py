"""Tests of the ElastiCache building blocks and their stacks."""
