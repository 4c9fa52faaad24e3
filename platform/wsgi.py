"""WSGI entry point for production servers: ``gunicorn crm_platform.wsgi:app``."""

from crm_platform.app import create_app
from crm_platform.scheduling import start_in_app

app = create_app()
# Each worker may tick too: the firing ledger keeps every firing single.  CRM_SCHEDULER=off and a
# separate ``crm scheduler`` process is the lighter production set-up.
start_in_app(app)
