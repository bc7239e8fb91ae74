# CMake generated Testfile for 
# Source directory: /work/main/tests/kmod
# Build directory: /work/main/build-dbg/tests/kmod
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
