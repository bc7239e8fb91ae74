savedcmd_/work/main/build-dbg/kmod/debug/vfio_iommu_lu.o := ld -m elf_x86_64 -z noexecstack --no-warn-rwx-segments   -r -o /work/main/build-dbg/kmod/debug/vfio_iommu_lu.o @/work/main/build-dbg/kmod/debug/vfio_iommu_lu.mod  ; ./tools/objtool/objtool --hacks=jump_label --hacks=noinstr --hacks=skylake --ibt --orc --retpoline --rethunk --static-call --uaccess --prefix=16  --link  --module /work/main/build-dbg/kmod/debug/vfio_iommu_lu.o

/work/main/build-dbg/kmod/debug/vfio_iommu_lu.o: $(wildcard ./tools/objtool/objtool)
