file(REMOVE_RECURSE
  "../../kmod/debug/vfio_lu_test_mdev.ko"
  "CMakeFiles/test-mdev-debug"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/test-mdev-debug.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
