"""AWS provider: KMS, CloudHSM and external key stores, IAM, grants and CloudTrail (boto3, read-only)."""
