# Empty dependencies file for mdev_userfault.
# This may be replaced when dependencies are built.
