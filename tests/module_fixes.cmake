# Suites of the memory-object, dirty-detach and owner-lifecycle guarantees
# (docs/ownership.md, docs/dirty.md).  Included by tests/CMakeLists.txt.

vfio_lu_add_vm_test(object_identity SOURCES vm/object_identity.c TEST_MDEV)
target_compile_options(object_identity PRIVATE -Wno-sign-compare)
vfio_lu_add_vm_test(object_fuse SOURCES vm/object_fuse.c lib/fuse_file.c
                    TEST_MDEV)
target_compile_options(object_fuse PRIVATE -Wno-sign-compare)
vfio_lu_add_vm_test(dirty_detach SOURCES vm/dirty_detach.c TEST_MDEV)
target_compile_options(dirty_detach PRIVATE -Wno-sign-compare)
target_link_libraries(dirty_detach PRIVATE pthread)
vfio_lu_add_vm_test(owner_lifecycle SOURCES vm/owner_lifecycle.c)
target_compile_options(owner_lifecycle PRIVATE -Wno-sign-compare)
