# Empty dependencies file for conformance_map.
# This may be replaced when dependencies are built.
