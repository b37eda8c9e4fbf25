"""The shared kernel: plumbing that every Zhengban process uses, and no domain rules but one kind of
data: `notices.py`, the figures of the notices (caps, thresholds, seat limits) and how an org's own
policy document overrides them, which budget, procurement, licenses and the console all read alike.

Settings, database engines, the transactional outbox and its relay, idempotent consumers with a
dead-letter table, the CloudEvents envelope and the event contracts, problem+json errors, JWT
verification and org-subtree scoping, health, metrics and JSON logs.
"""
