# Empty dependencies file for conformance_ioctl.
# This may be replaced when dependencies are built.
