"""Multi-tenant SaaS on PostgreSQL: the tenant catalog, pooled isolation with row-level security,
and the tenant data-access library. Nothing here imports ``aws_cdk``.

- :mod:`.catalog`, :mod:`.shards`, :mod:`.quotas`, :mod:`.fleet`: the catalog file (``tenants.json``),
  stable shard assignment, regional quota checks and a synthetic fleet for benchmarks.
- :mod:`.move`: moving a tenant between tiers (copy, catch-up, fenced cutover, verification, flip).
"""
