"""WSGI entry point for production servers: ``gunicorn crm_platform.wsgi:app``."""
from crm_platform.app import create_app

app = create_app()
