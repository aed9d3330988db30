"""``torchvision.transforms`` stand-in: only ``functional.to_tensor``."""
