file(REMOVE_RECURSE
  "CMakeFiles/conformance_ioctl.dir/vm/conformance_ioctl.c.o"
  "CMakeFiles/conformance_ioctl.dir/vm/conformance_ioctl.c.o.d"
  "conformance_ioctl"
  "conformance_ioctl.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/conformance_ioctl.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
