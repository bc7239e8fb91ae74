savedcmd_/work/main/build-dbg/tests/kmod/debug/vfio_lu_test_mdev.o := ld -m elf_x86_64 -z noexecstack --no-warn-rwx-segments   -r -o /work/main/build-dbg/tests/kmod/debug/vfio_lu_test_mdev.o @/work/main/build-dbg/tests/kmod/debug/vfio_lu_test_mdev.mod  ; ./tools/objtool/objtool --hacks=jump_label --hacks=noinstr --hacks=skylake --ibt --orc --retpoline --rethunk --static-call --uaccess --prefix=16  --link  --module /work/main/build-dbg/tests/kmod/debug/vfio_lu_test_mdev.o

/work/main/build-dbg/tests/kmod/debug/vfio_lu_test_mdev.o: $(wildcard ./tools/objtool/objtool)
