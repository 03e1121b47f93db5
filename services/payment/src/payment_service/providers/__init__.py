"""Payment providers behind one adapter interface, and the sandbox provider with its hosted page."""
