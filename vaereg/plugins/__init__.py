"""Built-in regularizers, one module each; found through the ``vaereg.plugins`` entry points."""
