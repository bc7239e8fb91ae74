/work/main/build-dbg/tests/kmod/debug/test_mdev.o
