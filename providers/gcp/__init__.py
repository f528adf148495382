"""GCP provider: Cloud KMS keys, EKM connections, IAM across the resource hierarchy, audit configs."""
