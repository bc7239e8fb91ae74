# Empty compiler generated dependencies file for conformance_mdev.
# This may be replaced when dependencies are built.
