# Empty compiler generated dependencies file for conformance_acct.
# This may be replaced when dependencies are built.
