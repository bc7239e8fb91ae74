# Empty custom commands generated dependencies file for kmod-debug.
# This may be replaced when dependencies are built.
