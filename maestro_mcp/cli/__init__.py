"""The ``maestro`` command line."""
