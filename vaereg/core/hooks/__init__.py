"""The hooks a plugin implements (the specification), and the plugin manager that calls
them in recipe order, attributing failures."""
