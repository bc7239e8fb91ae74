# The conformance suite: the same cases on the stock vfio_iommu_type1 and
# on vfio_iommu_lu (FIXTURE_VARIANT per backend), results required equal.
# See docs/conformance.md.  Included by tests/CMakeLists.txt.

target_sources(testlib PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/lib/mdev_util.c
  ${CMAKE_CURRENT_SOURCE_DIR}/lib/conformance_util.c
  ${CMAKE_CURRENT_SOURCE_DIR}/lib/owner_child.c)

vfio_lu_add_vm_test(conformance_map   SOURCES vm/conformance_map.c)
vfio_lu_add_vm_test(conformance_ioctl SOURCES vm/conformance_ioctl.c)
vfio_lu_add_vm_test(conformance_edu   SOURCES vm/conformance_edu.c)
vfio_lu_add_vm_test(conformance_mdev  SOURCES vm/conformance_mdev.c  TEST_MDEV)
vfio_lu_add_vm_test(conformance_acct  SOURCES vm/conformance_acct.c  TEST_MDEV)
vfio_lu_add_vm_test(conformance_dirty SOURCES vm/conformance_dirty.c TEST_MDEV)

# The harness compares with typeof(): int literals against unsigned fields
# are fine there, so keep the build log readable.
foreach(t conformance_map conformance_ioctl conformance_edu conformance_mdev
          conformance_acct conformance_dirty)
  target_compile_options(${t} PRIVATE -Wno-sign-compare)
endforeach()
