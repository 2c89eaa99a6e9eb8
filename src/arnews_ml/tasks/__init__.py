"""Tasks: (config, tracker) -> results; the layer that wires science code, tracking and files."""
