# Empty compiler generated dependencies file for conformance_dirty.
# This may be replaced when dependencies are built.
