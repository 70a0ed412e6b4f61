"""The thin PySide6 layer. It talks to objects that app.py hands it and never does I/O itself."""
