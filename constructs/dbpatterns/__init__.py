"""dbpatterns: reference AWS CDK constructs for RDS, Aurora, DynamoDB, DAX and ElastiCache.

This top-level module is also shipped inside every Lambda asset, so it must not import
aws_cdk: construct modules live in subpackages (``dbpatterns.common``, ``dbpatterns.dynamodb``...).
"""

__version__ = "0.1.0"
