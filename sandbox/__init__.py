"""Desensitization: PII detection and classification, masking, samples, leak gate."""
