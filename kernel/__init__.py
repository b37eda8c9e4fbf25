"""The shared kernel: plumbing that every Zhengban process uses, and no domain rules.

Settings, database engines, the transactional outbox and its relay, idempotent consumers with a
dead-letter table, the CloudEvents envelope and the event contracts, problem+json errors, JWT
verification and org-subtree scoping, health, metrics and JSON logs.
"""
