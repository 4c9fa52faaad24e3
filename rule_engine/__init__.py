"""Rule engine: expressions, field rules, workflows, event and time triggers, actions and the scheduler.

It builds on metamodel and never imports Flask, so the scheduler process and tests use it directly.
"""
