# CMake generated Testfile for 
# Source directory: /work/main/kmod
# Build directory: /work/main/build-dbg/kmod
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
