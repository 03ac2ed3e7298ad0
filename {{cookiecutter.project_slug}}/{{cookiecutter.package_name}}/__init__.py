"""The service's package. The app is assembled in main.py; settings.py lists every setting."""
