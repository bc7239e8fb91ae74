savedcmd_/work/main/build-dbg/tests/kmod/debug/modules.order := {   echo /work/main/build-dbg/tests/kmod/debug/vfio_lu_test_mdev.o; :; } > /work/main/build-dbg/tests/kmod/debug/modules.order
