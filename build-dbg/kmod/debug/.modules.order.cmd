savedcmd_/work/main/build-dbg/kmod/debug/modules.order := {   echo /work/main/build-dbg/kmod/debug/vfio_iommu_lu.o; :; } > /work/main/build-dbg/kmod/debug/modules.order
