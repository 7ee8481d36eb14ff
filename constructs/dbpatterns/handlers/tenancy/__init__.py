"""Custom-resource handlers of the multi-tenant stacks (CDK Provider framework ``on_event``).

- ``dbpatterns.handlers.tenancy.schema_resource.on_event``: apply the tenant schema and RLS to one
  database (pooled shard, standard instance or enterprise cluster), as its master user over TLS.
- ``dbpatterns.handlers.tenancy.directory_resource.on_event``: register a database and its tenants
  in the runtime tenant directory (DynamoDB), and remove them when the stack goes.

Both run the runtime library (:mod:`dbpatterns.runtime.tenancy`); nothing here imports aws_cdk.
"""
