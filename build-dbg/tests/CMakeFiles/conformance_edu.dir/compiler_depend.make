# Empty compiler generated dependencies file for conformance_edu.
# This may be replaced when dependencies are built.
