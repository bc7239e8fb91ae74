# Empty dependencies file for backend_dropin.
# This may be replaced when dependencies are built.
