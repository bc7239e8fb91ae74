# Empty dependencies file for object_identity.
# This may be replaced when dependencies are built.
