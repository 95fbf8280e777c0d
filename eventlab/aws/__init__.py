"""AWS SNS/SQS: the only package that imports boto3 (docs/aws.md)."""
