# DMA ownership: VFIO_CHANGE_DMA_OWNER, staged VFIO_DMA_MAP_FLAG_VADDR and
# close-on-exit/exec on vfio_iommu_lu (docs/ownership.md), fork/exec
# scenarios with the edu device DMAing through the mappings.  Included by
# tests/CMakeLists.txt.

vfio_lu_add_vm_test(owner_handoff SOURCES vm/owner_handoff.c)
vfio_lu_add_vm_test(owner_exit    SOURCES vm/owner_exit.c)
vfio_lu_add_vm_test(owner_mdev    SOURCES vm/owner_mdev.c TEST_MDEV)

foreach(t owner_handoff owner_exit owner_mdev)
  target_compile_options(${t} PRIVATE -Wno-sign-compare)
endforeach()
