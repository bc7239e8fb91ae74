file(REMOVE_RECURSE
  "CMakeFiles/testlib.dir/lib/child.c.o"
  "CMakeFiles/testlib.dir/lib/child.c.o.d"
  "CMakeFiles/testlib.dir/lib/common.c.o"
  "CMakeFiles/testlib.dir/lib/common.c.o.d"
  "CMakeFiles/testlib.dir/lib/dirty.c.o"
  "CMakeFiles/testlib.dir/lib/dirty.c.o.d"
  "CMakeFiles/testlib.dir/lib/edu.c.o"
  "CMakeFiles/testlib.dir/lib/edu.c.o.d"
  "CMakeFiles/testlib.dir/lib/mdev_util.c.o"
  "CMakeFiles/testlib.dir/lib/mdev_util.c.o.d"
  "CMakeFiles/testlib.dir/lib/reexec.c.o"
  "CMakeFiles/testlib.dir/lib/reexec.c.o.d"
  "CMakeFiles/testlib.dir/lib/userfault.c.o"
  "CMakeFiles/testlib.dir/lib/userfault.c.o.d"
  "CMakeFiles/testlib.dir/lib/vfio_util.c.o"
  "CMakeFiles/testlib.dir/lib/vfio_util.c.o.d"
  "libtestlib.a"
  "libtestlib.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/testlib.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
