"""Moving a tenant between tiers (pooled shard <-> standard instance <-> enterprise cluster) with a
write pause of about a second, locally (PostgreSQL to PostgreSQL, the same code for every direction).

- :mod:`.tables`: the tenant tables, their columns and keys, read from each database;
- :mod:`.rowcopy`: one consistent snapshot of the tenant's rows copied in batches; deleting them;
- :mod:`.capture`: the change capture while copying (a trigger-fed table of dirty keys, chosen over
  logical decoding: see its docstring) and the write fence of the cutover;
- :mod:`.verify`: per table row count and order-independent checksum on both sides;
- :mod:`.engine`: the walk through the directory's move states, rollback, resume and cleanup;
- :mod:`.cli`: ``python -m dbpatterns.runtime.tenancy.move migrate|resume|rollback|cleanup|status``.

The directory contract (states, the ``move`` and ``previous`` maps, one conditional write per step)
is in :mod:`dbpatterns.runtime.tenancy.directory`; the AWS path (DMS full load + CDC driven by Step
Functions) walks the same states.
"""
