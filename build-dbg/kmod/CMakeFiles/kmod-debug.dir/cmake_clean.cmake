file(REMOVE_RECURSE
  "CMakeFiles/kmod-debug"
  "debug/vfio_iommu_lu.ko"
)

# Per-language clean rules from dependency scanning.
foreach(lang )
  include(CMakeFiles/kmod-debug.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
