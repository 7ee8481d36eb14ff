"""Lambda handler code. Runtime only: nothing here may import aws_cdk."""
