"""The one place the application's name and version live."""

APP_NAME = "NeuroScanCAM"
__version__ = "0.1.0"
