"""The thin PySide6 layer. It talks to objects that app/ hands it and never does I/O itself."""
