"""Adapters to AWS services (DynamoDB, S3, SQS, Secrets Manager)."""
