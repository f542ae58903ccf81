"""Container images of the local stack, built here without any registry (`invoke images.build`)."""
