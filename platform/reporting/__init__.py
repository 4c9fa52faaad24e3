"""Running reports and dashboard widgets for the signed-in user: shared by the API and the pages."""
