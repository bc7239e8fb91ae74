# Empty compiler generated dependencies file for testlib.
# This may be replaced when dependencies are built.
