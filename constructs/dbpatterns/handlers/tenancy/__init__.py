"""Handlers of the multi-tenant stacks.

- ``dbpatterns.handlers.tenancy.api.handler``: the example tenant API (API Gateway REST proxy, Cognito
  authorizer claim ``custom:tenant_id``): tenant-scoped CRUD on projects and tasks, reports from the
  reader endpoint. Env ``TENANT_DIRECTORY_TABLE``, ``RDS_CA_BUNDLE``.

Custom resources (CDK Provider framework ``on_event``):

- ``dbpatterns.handlers.tenancy.schema_resource.on_event``: apply the tenant schema and RLS to one
  database (pooled shard, standard instance or enterprise cluster), as its master user over TLS.
- ``dbpatterns.handlers.tenancy.directory_resource.on_event``: register a database and its tenants
  in the runtime tenant directory (DynamoDB), and remove them when the stack goes.

Both run the runtime library (:mod:`dbpatterns.runtime.tenancy`); nothing here imports aws_cdk.
"""
