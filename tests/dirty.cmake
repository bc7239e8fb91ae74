# Dirty page tracking (docs/dirty.md): exact bitmaps from the test mdev on
# both backends, and the bits across an owner change on ours.  Included
# by tests/CMakeLists.txt.

vfio_lu_add_vm_test(dirty_bitmap SOURCES vm/dirty_bitmap.c TEST_MDEV)
target_compile_options(dirty_bitmap PRIVATE -Wno-sign-compare)
vfio_lu_add_vm_test(dirty_handoff SOURCES vm/dirty_handoff.c TEST_MDEV)
