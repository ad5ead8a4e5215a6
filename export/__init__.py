"""ONNX export of CLaMP model folders (`clamp-export`); built on clamp_core's model classes."""
