"""Runtime libraries shared by the Lambda handlers. Nothing here may import aws_cdk."""
