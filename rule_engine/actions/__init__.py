"""Trigger and transition actions; each action type is one registered class."""
