"""The workspace list view's services: saved views, exports and bulk actions (Flask-free where possible)."""
